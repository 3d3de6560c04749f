package server

import (
	"claudemesh.dev/gen/pb/claudemesh/catalog/v1/catalogv1connect"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/gen/pb/claudemesh/scheduler/v1/schedulerv1connect"
	"claudemesh.dev/gen/pb/claudemesh/vault/v1/vaultv1connect"
	"claudemesh.dev/services/auth"
)

// policies says who may call each procedure. The services check the rest:
// that the caller belongs to the mesh a request names, and admin rights
// where a procedure needs them. A procedure missing here is refused.
func policies() map[string]auth.Policy {
	var (
		anonymous = auth.Policy{Anonymous: true}
		edgeOnly  = auth.Policy{Edge: true}
		peer      = auth.Policy{Peer: true}
		operator  = auth.Policy{Operator: true}
		read      = auth.Policy{Peer: true, Member: true, Operator: true, APIKey: auth.CapRead}
		admin     = auth.Policy{Peer: true, Member: true, Operator: true, APIKey: auth.CapAdmin}
		send      = auth.Policy{Peer: true, APIKey: auth.CapSend}
		// An invite token is signed by the mesh owner key, which is its own
		// credential.
		signed     = auth.Policy{Anonymous: true, Peer: true, Member: true, Operator: true, APIKey: auth.CapAdmin}
		stateWrite = auth.Policy{Peer: true, APIKey: auth.CapStateWrite}
		// Schedules belong to a member: its sessions, the member itself
		// (signed requests) and its API keys manage them.
		schedule  = auth.Policy{Peer: true, Member: true, APIKey: auth.CapSend}
		schedules = auth.Policy{Peer: true, Member: true, APIKey: auth.CapRead}
	)
	return map[string]auth.Policy{
		meshv1connect.MeshServiceCreateMeshProcedure:               operator,
		meshv1connect.MeshServiceGetMeshProcedure:                  read,
		meshv1connect.MeshServiceListMeshesProcedure:               operator,
		meshv1connect.MeshServiceUpdateMeshPolicyProcedure:         admin,
		meshv1connect.MeshServiceCreateInviteProcedure:             signed,
		meshv1connect.MeshServiceListInvitesProcedure:              admin,
		meshv1connect.MeshServiceRevokeInviteProcedure:             admin,
		meshv1connect.MeshServiceJoinMeshProcedure:                 anonymous,
		meshv1connect.MeshServiceListMembersProcedure:              read,
		meshv1connect.MeshServiceUpdateMemberProcedure:             admin,
		meshv1connect.MeshServiceRevokeMemberProcedure:             admin,
		meshv1connect.MeshServiceRestoreMemberProcedure:            admin,
		meshv1connect.MeshServiceCreateApiKeyProcedure:             admin,
		meshv1connect.MeshServiceListApiKeysProcedure:              admin,
		meshv1connect.MeshServiceRevokeApiKeyProcedure:             admin,
		meshv1connect.MeshServiceHelloProcedure:                    edgeOnly,
		meshv1connect.MeshServiceGoodbyeProcedure:                  peer,
		meshv1connect.MeshServiceSubscribeProcedure:                peer,
		meshv1connect.MeshServiceSendProcedure:                     send,
		meshv1connect.MeshServiceAckMessagesProcedure:              peer,
		meshv1connect.MeshServiceGetMessageStatusProcedure:         read,
		meshv1connect.MeshServiceListPeersProcedure:                read,
		meshv1connect.MeshServiceGetMeshInfoProcedure:              read,
		meshv1connect.MeshServiceSetStatusProcedure:                peer,
		meshv1connect.MeshServiceSetHookStatusProcedure:            anonymous,
		meshv1connect.MeshServiceSetSummaryProcedure:               peer,
		meshv1connect.MeshServiceSetVisibilityProcedure:            peer,
		meshv1connect.MeshServiceSetProfileProcedure:               peer,
		meshv1connect.MeshServiceReportStatsProcedure:              peer,
		meshv1connect.MeshServiceJoinGroupProcedure:                peer,
		meshv1connect.MeshServiceLeaveGroupProcedure:               peer,
		meshv1connect.MeshServiceSetStateProcedure:                 stateWrite,
		meshv1connect.MeshServiceGetStateProcedure:                 read,
		meshv1connect.MeshServiceListStateProcedure:                read,
		meshv1connect.MeshServiceGetFileProcedure:                  read,
		meshv1connect.MeshServiceListFilesProcedure:                read,
		meshv1connect.MeshServiceGetFileStatusProcedure:            read,
		meshv1connect.MeshServiceDeleteFileProcedure:               peer,
		meshv1connect.MeshServiceGrantFileAccessProcedure:          peer,
		schedulerv1connect.SchedulerServiceCreateScheduleProcedure: schedule,
		schedulerv1connect.SchedulerServiceListSchedulesProcedure:  schedules,
		schedulerv1connect.SchedulerServiceCancelScheduleProcedure: schedule,
		vaultv1connect.VaultServiceSetEntryProcedure:               peer,
		vaultv1connect.VaultServiceListEntriesProcedure:            peer,
		vaultv1connect.VaultServiceGetEntriesProcedure:             peer,
		vaultv1connect.VaultServiceDeleteEntryProcedure:            peer,
		catalogv1connect.CatalogServiceDeployServiceProcedure:      peer,
		catalogv1connect.CatalogServiceUndeployServiceProcedure:    peer,
		catalogv1connect.CatalogServiceUpdateServiceProcedure:      peer,
		catalogv1connect.CatalogServiceGetServiceLogsProcedure:     read,
		catalogv1connect.CatalogServiceGetServiceScopeProcedure:    read,
		catalogv1connect.CatalogServiceSetServiceScopeProcedure:    peer,
		catalogv1connect.CatalogServiceGetServiceSchemaProcedure:   read,
		catalogv1connect.CatalogServiceListServicesProcedure:       read,
		catalogv1connect.CatalogServiceCallToolProcedure:           peer,
		catalogv1connect.CatalogServiceShareSkillProcedure:         peer,
		catalogv1connect.CatalogServiceGetSkillProcedure:           read,
		catalogv1connect.CatalogServiceListSkillsProcedure:         read,
		catalogv1connect.CatalogServiceRemoveSkillProcedure:        peer,
		catalogv1connect.CatalogServiceDeploySkillProcedure:        peer,
	}
}
