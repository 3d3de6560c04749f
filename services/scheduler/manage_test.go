package scheduler_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	schedulerv1 "claudemesh.dev/gen/pb/claudemesh/scheduler/v1"
	"claudemesh.dev/gen/pb/claudemesh/scheduler/v1/schedulerv1connect"
	"claudemesh.dev/services/meshtest"
	"claudemesh.dev/services/rpcerr"
	"claudemesh.dev/services/server"
)

func TestCancel(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newBundle(t, engine)
		alice := openSession(t, tb.b, tb.alice)
		bob := openSession(t, tb.b, tb.bob)
		at := tb.clock.Now().Add(time.Hour)
		first := scheduleOK(t, alice, map[string]any{"message": "one", "deliverAt": at.UnixMilli()})
		second := scheduleOK(t, alice, map[string]any{"message": "two", "cron": "0 * * * *"})
		firstID, _ := first["scheduledId"].(string)
		secondID, _ := second["scheduledId"].(string)

		// Another member's schedule is unknown to bob, by id or prefix.
		for _, id := range []string{firstID, firstID[:8]} {
			ack := cancelScheduled(t, bob, id)
			require.Equal(t, false, ack["ok"], "ack %v", ack)
			require.Equal(t, id, ack["scheduledId"])
		}
		require.Len(t, listScheduled(t, alice), 2)

		// A unique prefix cancels; the ack names the full id.
		ack := cancelScheduled(t, alice, firstID[:8])
		require.Equal(t, true, ack["ok"])
		require.Equal(t, firstID, ack["scheduledId"])
		require.Equal(t, false, cancelScheduled(t, alice, firstID)["ok"], "cancelled already")

		// Too short a prefix is an error, not a miss.
		f := alice.Request(map[string]any{"type": "cancel_scheduled", "scheduledId": "abc"}, "error")
		require.Equal(t, "invalid_argument", f["code"])

		// A sibling session of the member sees and cancels the member's
		// schedules.
		sibling := openSession(t, tb.b, tb.alice)
		list := listScheduled(t, sibling)
		require.Len(t, list, 1)
		require.Equal(t, secondID, list[0]["id"])
		require.Equal(t, true, cancelScheduled(t, sibling, secondID)["ok"])

		// Nothing cancelled fires.
		tb.advance(3 * time.Hour)
		alice.ExpectQuiet(quiet)
		require.Empty(t, listScheduled(t, alice))
		require.Equal(t, int32(0), tb.schedule(t, secondID).FiredCount)
	})
}

func TestList(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newBundle(t, engine)
		// Noon in Tokyo, so that its midnight comes after the one-shots.
		tokyo := load(t, "Asia/Tokyo")
		local := tb.clock.Now().In(tokyo)
		tb.advanceTo(t, time.Date(local.Year(), local.Month(), local.Day()+1, 12, 0, 0, 0, tokyo))
		alice := openSession(t, tb.b, tb.alice)
		bob := openSession(t, tb.b, tb.bob)
		now := tb.clock.Now()
		later := scheduleOK(t, alice, map[string]any{"to": "@eng", "message": "later", "deliverAt": now.Add(2 * time.Hour).UnixMilli()})
		sooner := scheduleOK(t, alice, map[string]any{"message": "sooner", "deliverAt": now.Add(time.Hour).UnixMilli(), "subtype": "reminder"})
		daily := scheduleOK(t, alice, map[string]any{"to": "*", "message": "daily", "cron": "0 0 * * *", "timezone": "Asia/Tokyo"})
		bobs := scheduleOK(t, bob, map[string]any{"message": "bob's", "deliverAt": now.Add(time.Minute).UnixMilli()})

		list := listScheduled(t, alice)
		require.Len(t, list, 3, "only the caller's")
		// Soonest first.
		require.Equal(t, []any{sooner["scheduledId"], later["scheduledId"], daily["scheduledId"]}, []any{list[0]["id"], list[1]["id"], list[2]["id"]})
		require.Equal(t, map[string]any{
			"id": sooner["scheduledId"], "to": "", "message": "sooner", "deliverAt": sooner["deliverAt"],
			"createdAt": ms(now), "subtype": "reminder",
		}, list[0])
		require.Equal(t, "@eng", list[1]["to"])
		require.NotContains(t, list[1], "cron")
		require.Equal(t, map[string]any{
			"id": daily["scheduledId"], "to": "*", "message": "daily", "deliverAt": daily["deliverAt"],
			"createdAt": ms(now), "cron": "0 0 * * *", "firedCount": float64(0), "timezone": "Asia/Tokyo",
		}, list[2])
		local = now.In(tokyo)
		require.Equal(t, ms(time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, tokyo)), daily["deliverAt"], "midnight in Tokyo")

		bobList := listScheduled(t, bob)
		require.Len(t, bobList, 1)
		require.Equal(t, bobs["scheduledId"], bobList[0]["id"])
	})
}

func TestValidation(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newBundle(t, engine, func(cfg *server.Config) {
			cfg.Scheduler.MaxSchedulesPerMember = 3
			cfg.Scheduler.MaxMessageBytes = 1000
		})
		alice := openSession(t, tb.b, tb.alice)
		at := tb.clock.Now().Add(time.Hour).UnixMilli()

		t.Run("InvalidCron", func(t *testing.T) {
			for expr, reason := range map[string]string{
				"61 * * * *":     "61",
				"* * * *":        "expected exactly 5 fields",
				"@every 1s":      "expected exactly 5 fields",
				"0 0 30 2 *":     "never fires",
				"* * * * * *":    "expected exactly 5 fields",
				"TZ=UTC * * * *": "TZ=",
			} {
				msg := scheduleRefused(t, alice, map[string]any{"message": "x", "cron": expr}, "invalid_cron")
				require.Contains(t, msg, "invalid cron expression")
				require.Contains(t, msg, reason, "the parser's reason for %q", expr)
			}
			scheduleRefused(t, alice, map[string]any{"message": "x", "deliverAt": at, "recurring": true}, "invalid_cron")
		})

		t.Run("Fields", func(t *testing.T) {
			for _, c := range []struct {
				fields map[string]any
				code   string
				text   string
			}{
				{map[string]any{"message": "  ", "deliverAt": at}, "invalid_argument", "message is required"},
				{map[string]any{"message": "x"}, "invalid_argument", "deliver time"},
				{map[string]any{"message": "x", "deliverAt": at, "subtype": "nag"}, "invalid_argument", "subtype"},
				{map[string]any{"message": "x", "cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "invalid_timezone", "Mars/Olympus"},
				{map[string]any{"message": "x", "cron": "0 9 * * *", "timezone": "Local"}, "invalid_timezone", "Local"},
				{map[string]any{"message": "x", "deliverAt": tb.clock.Now().Add(400 * 24 * time.Hour).UnixMilli()}, "limit", "366 days"},
				{map[string]any{"message": strings.Repeat("x", 800), "deliverAt": at}, "too_large", "limit 1000"},
				{map[string]any{"to": "nobody", "message": "x", "deliverAt": at}, "no_recipient", "nobody"},
				{map[string]any{"to": "@bad group", "message": "x", "deliverAt": at}, "invalid_target", ""},
				{map[string]any{"to": "#topic", "message": "x", "deliverAt": at}, "invalid_target", "topics"},
			} {
				msg := scheduleRefused(t, alice, c.fields, c.code)
				require.Contains(t, msg, c.text, "%v", c.fields)
			}
			require.Empty(t, listScheduled(t, alice), "nothing refused was stored")
		})

		t.Run("PerMemberLimit", func(t *testing.T) {
			ids := make([]string, 0, 3)
			for i := range 3 {
				ack := scheduleOK(t, alice, map[string]any{"message": "n" + string(rune('0'+i)), "deliverAt": at})
				id, _ := ack["scheduledId"].(string)
				ids = append(ids, id)
			}
			msg := scheduleRefused(t, alice, map[string]any{"message": "one too many", "deliverAt": at}, "limit")
			require.Contains(t, msg, "3 active schedules")
			// Other members have their own allowance.
			scheduleOK(t, openSession(t, tb.b, tb.bob), map[string]any{"message": "bob's", "deliverAt": at})
			// A cancelled schedule frees its place.
			require.Equal(t, true, cancelScheduled(t, alice, ids[0])["ok"])
			scheduleOK(t, alice, map[string]any{"message": "fits again", "deliverAt": at})
		})
	})
}

// TestControlPlane manages schedules over Connect: a member signing its
// requests, and a member's API key; the operator acts for no member.
func TestControlPlane(t *testing.T) {
	t.Parallel()
	onEachEngine(t, func(t *testing.T, engine storetest.Engine) {
		tb := newBundle(t, engine)
		signed := schedulerv1connect.NewSchedulerServiceClient(http.DefaultClient, tb.b.URL,
			connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
				return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
					req.Header().Set("Authorization", tb.b.MemberAuthorization(tb.bob, req.Spec().Procedure))
					return next(ctx, req)
				}
			})))
		at := timestamppb.New(tb.clock.Now().Add(time.Minute))
		res, err := signed.CreateSchedule(t.Context(), &schedulerv1.CreateScheduleRequest{
			MeshId: tb.mesh.ID, Message: "from the CLI", DeliverTime: at, Subtype: "reminder",
		})
		require.NoError(t, err)
		require.Equal(t, tb.bob.ID, res.GetSchedule().GetMemberId())
		require.Empty(t, res.GetSchedule().GetTargetSpec())
		require.Equal(t, "UTC", res.GetSchedule().GetTimezone())

		_, err = signed.CreateSchedule(t.Context(), &schedulerv1.CreateScheduleRequest{MeshId: tb.mesh.ID, Message: "x", Cron: "99 * * * *"})
		require.Equal(t, connect.CodeInvalidArgument, connect.CodeOf(err))
		require.Equal(t, "invalid_cron", rpcerr.Reason(err))

		// An API key a member made acts as that member.
		created, err := tb.b.MemberClient(tb.alice).CreateApiKey(t.Context(), &meshv1.CreateApiKeyRequest{
			MeshId: tb.mesh.ID, Label: "cron job", Capabilities: []meshv1.ApiKeyCapability{meshv1.ApiKeyCapability_API_KEY_CAPABILITY_SEND, meshv1.ApiKeyCapability_API_KEY_CAPABILITY_READ},
		})
		require.NoError(t, err)
		client := schedulerv1connect.NewSchedulerServiceClient(http.DefaultClient, tb.b.URL)
		keyCtx := meshtest.Bearer(t.Context(), created.GetSecret())
		res, err = client.CreateSchedule(keyCtx, &schedulerv1.CreateScheduleRequest{MeshId: tb.mesh.ID, TargetSpec: "bob", Message: "from a script", DeliverTime: at})
		require.NoError(t, err)
		require.Equal(t, tb.alice.ID, res.GetSchedule().GetMemberId())
		list, err := client.ListSchedules(keyCtx, &schedulerv1.ListSchedulesRequest{MeshId: tb.mesh.ID})
		require.NoError(t, err)
		require.Len(t, list.GetSchedules(), 1)

		_, err = client.ListSchedules(meshtest.Bearer(t.Context(), tb.b.Operator), &schedulerv1.ListSchedulesRequest{MeshId: tb.mesh.ID})
		require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))

		// Both fire into bob's session.
		bob := openSession(t, tb.b, tb.bob)
		tb.advance(time.Minute)
		got := map[string]bool{}
		for range 2 {
			push := nextPush(t, bob)
			body, _ := push["ciphertext"].(string)
			got[body] = true
		}
		require.Equal(t, map[string]bool{b64("from the CLI"): true, b64("from a script"): true}, got)
	})
}
