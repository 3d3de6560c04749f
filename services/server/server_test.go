package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpchealth"
	"connectrpc.com/grpcreflect"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/reflect/protoreflect"

	"claudemesh.dev/db"
	"claudemesh.dev/db/storetest"
	meshv1 "claudemesh.dev/gen/pb/claudemesh/mesh/v1"
	"claudemesh.dev/gen/pb/claudemesh/mesh/v1/meshv1connect"
	"claudemesh.dev/services/server"
)

type testBundle struct {
	srv      *server.Server
	store    db.Store
	baseURL  string
	wsURL    string
	operator string
	cancel   context.CancelFunc
	done     chan error
}

// start runs a broker on a free port over store until the test ends.
func start(t *testing.T, store db.Store) *testBundle {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, server.Config{Listen: "127.0.0.1:0", Store: store, Version: "test"})
	require.NoError(t, err)
	token, created, err := server.OperatorToken(ctx, store, filepath.Join(t.TempDir(), "operator-token"), time.Now())
	require.NoError(t, err)
	require.True(t, created)
	b := &testBundle{
		srv:      srv,
		store:    store,
		baseURL:  "http://" + srv.Addr().String(),
		wsURL:    "ws://" + srv.Addr().String() + "/ws",
		operator: token,
		cancel:   cancel,
		done:     make(chan error, 1),
	}
	go func() { b.done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-b.done)
	})
	return b
}

// h2cClient speaks HTTP/2 without TLS, as gRPC clients do.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	var body map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	return res.StatusCode, body
}

func TestServer(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines() {
		t.Run(engine.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("GRPCHealthServing", func(t *testing.T) {
				t.Parallel()
				b := start(t, engine.Open(t))
				client := grpchealth.NewClient(h2cClient(), b.baseURL, connect.WithGRPC())
				for _, svc := range []string{"", meshv1connect.MeshServiceName} {
					res, err := client.Check(t.Context(), &grpchealth.CheckRequest{Service: svc})
					require.NoError(t, err)
					require.Equal(t, grpchealth.StatusServing, res.Status)
				}
				_, err := client.Check(t.Context(), &grpchealth.CheckRequest{Service: "no.such.Service"})
				require.Equal(t, connect.CodeNotFound, connect.CodeOf(err))
			})

			t.Run("Health", func(t *testing.T) {
				t.Parallel()
				b := start(t, engine.Open(t))
				status, body := getJSON(t, b.baseURL+"/health")
				require.Equal(t, http.StatusOK, status)
				require.Equal(t, "ok", body["status"])
				require.Equal(t, "up", body["db"])
				require.Equal(t, engine.Name, body["engine"])
				status, body = getJSON(t, b.baseURL+"/health/ready")
				require.Equal(t, http.StatusOK, status)
				require.Equal(t, "ready", body["status"])
			})

			t.Run("HealthReportsDatabaseDown", func(t *testing.T) {
				t.Parallel()
				store := engine.Open(t)
				b := start(t, store)
				require.NoError(t, store.Close())
				status, body := getJSON(t, b.baseURL+"/health")
				require.Equal(t, http.StatusOK, status)
				require.Equal(t, "down", body["db"])
				status, body = getJSON(t, b.baseURL+"/health/ready")
				require.Equal(t, http.StatusServiceUnavailable, status)
				require.Equal(t, "db_down", body["reason"])
				client := grpchealth.NewClient(h2cClient(), b.baseURL, connect.WithGRPC())
				res, err := client.Check(t.Context(), &grpchealth.CheckRequest{})
				require.NoError(t, err)
				require.Equal(t, grpchealth.StatusNotServing, res.Status)
			})
		})
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := start(t, storetest.SQLite(t))
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.baseURL+"/metrics", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, series := range []string{"claudemesh_ws_connections_active", "claudemesh_db_up 1", "go_goroutines", "process_resident_memory_bytes"} {
		require.Contains(t, string(body), series)
	}
}

func TestReflectionListsServices(t *testing.T) {
	t.Parallel()
	b := start(t, storetest.SQLite(t))
	client := grpcreflect.NewClient(h2cClient(), b.baseURL, connect.WithGRPC())
	stream := client.NewStream(t.Context())
	t.Cleanup(func() { _, _ = stream.Close() })
	names, err := stream.ListServices()
	require.NoError(t, err)
	for _, want := range []string{
		"claudemesh.mesh.v1.MeshService",
		"claudemesh.scheduler.v1.SchedulerService",
		"claudemesh.vault.v1.VaultService",
		"claudemesh.catalog.v1.CatalogService",
	} {
		require.True(t, slices.ContainsFunc(names, func(n protoreflect.FullName) bool { return string(n) == want }), "missing %s in %v", want, names)
	}
}

func TestConnectAuthentication(t *testing.T) {
	t.Parallel()
	b := start(t, storetest.SQLite(t))
	for _, proto := range []struct {
		name string
		opts []connect.ClientOption
	}{
		{"Connect", nil},
		{"GRPC", []connect.ClientOption{connect.WithGRPC()}},
		{"GRPCWeb", []connect.ClientOption{connect.WithGRPCWeb()}},
	} {
		t.Run(proto.name, func(t *testing.T) {
			t.Parallel()
			client := meshv1connect.NewMeshServiceClient(h2cClient(), b.baseURL, proto.opts...)

			_, err := client.ListMeshes(t.Context(), &meshv1.ListMeshesRequest{})
			require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err), "no credentials")

			_, err = client.ListMeshes(bearer(t, "cm_not-a-real-key"), &meshv1.ListMeshesRequest{})
			require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err), "unknown key")

			_, err = client.ListMeshes(bearer(t, "not-even-a-key"), &meshv1.ListMeshesRequest{})
			require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err), "malformed key")

			// The operator passes authentication; the RPC itself answers.
			_, err = client.ListMeshes(bearer(t, b.operator), &meshv1.ListMeshesRequest{})
			require.NotEqual(t, connect.CodeUnauthenticated, connect.CodeOf(err))
			require.NotEqual(t, connect.CodePermissionDenied, connect.CodeOf(err))

			// Hello is for the broker's own edge only, whoever calls.
			_, err = client.Hello(bearer(t, b.operator), &meshv1.HelloRequest{})
			require.Equal(t, connect.CodePermissionDenied, connect.CodeOf(err))

			// Forging the edge's internal token does not work.
			ctx, info := connect.NewClientContext(t.Context())
			info.RequestHeader().Set("Claudemesh-Internal-Token", "guess")
			_, err = client.Hello(ctx, &meshv1.HelloRequest{})
			require.Equal(t, connect.CodeUnauthenticated, connect.CodeOf(err))
		})
	}
}

func bearer(t *testing.T, secret string) context.Context {
	t.Helper()
	ctx, info := connect.NewClientContext(t.Context())
	info.RequestHeader().Set("Authorization", "Bearer "+secret)
	return ctx
}

// readFrame reads one JSON frame from a socket.
func readFrame(t *testing.T, ws *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	typ, data, err := ws.Read(ctx)
	require.NoError(t, err)
	require.Equal(t, websocket.MessageText, typ)
	var f map[string]any
	require.NoError(t, json.Unmarshal(data, &f))
	return f
}

func dial(t *testing.T, b *testBundle) *websocket.Conn {
	t.Helper()
	ws, res, err := websocket.Dial(t.Context(), b.wsURL, nil)
	require.NoError(t, err)
	if res.Body != nil {
		_ = res.Body.Close()
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	return ws
}

func write(t *testing.T, ws *websocket.Conn, frame string) {
	t.Helper()
	require.NoError(t, ws.Write(t.Context(), websocket.MessageText, []byte(frame)))
}

func TestWebSocketBadInputKeepsSocketOpen(t *testing.T) {
	t.Parallel()
	b := start(t, storetest.SQLite(t))
	ws := dial(t, b)
	cases := []struct {
		name, frame, code, reqID string
	}{
		{"NotJSON", `hello there`, "malformed", ""},
		{"NoType", `{"_reqId":"r1"}`, "malformed", "r1"},
		{"TypeNotString", `{"type":7}`, "malformed", ""},
		{"UnknownType", `{"type":"teleport","_reqId":"r2"}`, "unknown_type", "r2"},
		{"BrokerFrameFromClient", `{"type":"push","_reqId":"r3"}`, "unknown_type", "r3"},
		{"WrongFieldType", `{"type":"send","targetSpec":5,"_reqId":"r4"}`, "malformed", "r4"},
		{"BeforeHello", `{"type":"list_peers","_reqId":"r5"}`, "no_hello", "r5"},
	}
	for _, tc := range cases {
		write(t, ws, tc.frame)
		f := readFrame(t, ws)
		require.Equal(t, "error", f["type"], tc.name)
		require.Equal(t, tc.code, f["code"], tc.name)
		if tc.reqID != "" {
			require.Equal(t, tc.reqID, f["_reqId"], tc.name)
		}
	}
	// Binary frames are refused, the socket stays usable.
	require.NoError(t, ws.Write(t.Context(), websocket.MessageBinary, []byte{1, 2, 3}))
	require.Equal(t, "malformed", readFrame(t, ws)["code"])
	write(t, ws, `{"type":"mesh_info"}`)
	require.Equal(t, "no_hello", readFrame(t, ws)["code"])
}

func TestWebSocketOversizedFrameCloses1009(t *testing.T) {
	t.Parallel()
	b := start(t, storetest.SQLite(t))
	ws := dial(t, b)
	big := `{"type":"set_summary","summary":"` + strings.Repeat("x", 70<<10) + `"}`
	_ = ws.Write(t.Context(), websocket.MessageText, []byte(big))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, _, err := ws.Read(ctx)
	require.Equal(t, websocket.StatusMessageTooBig, websocket.CloseStatus(err), "got %v", err)
}

func TestShutdownClosesSockets1001(t *testing.T) {
	t.Parallel()
	b := start(t, storetest.SQLite(t))
	ws := dial(t, b)
	write(t, ws, `{"type":"list_peers"}`)
	require.Equal(t, "no_hello", readFrame(t, ws)["code"])

	b.cancel()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, _, err := ws.Read(ctx)
	require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "got %v", err)
	require.NoError(t, <-b.done)
	b.done <- nil // for the cleanup

	// New connections are refused once the broker is down.
	_, res, err := websocket.Dial(t.Context(), b.wsURL, nil)
	require.Error(t, err)
	if res != nil && res.Body != nil {
		_ = res.Body.Close()
	}
}

func TestHelloReachesMeshService(t *testing.T) {
	t.Parallel()
	b := start(t, storetest.SQLite(t))
	ws := dial(t, b)
	write(t, ws, `{"type":"hello","meshId":"m","memberId":"x","pubkey":"00","timestamp":1,"signature":"00","_reqId":"h1"}`)
	f := readFrame(t, ws)
	require.Equal(t, "error", f["type"])
	require.Equal(t, "h1", f["_reqId"])
	// The edge made the RPC and relayed the service's answer.
	require.NotEqual(t, "no_hello", f["code"])
	require.NotEqual(t, "malformed", f["code"])
	require.True(t, strings.HasPrefix(f["message"].(string), "hello rejected"), f["message"])
}
