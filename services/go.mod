module claudemesh.dev/services

go 1.26.0

require (
	claudemesh.dev/db v0.0.0
	claudemesh.dev/edge v0.0.0
	claudemesh.dev/gen v0.0.0
)

require (
	connectrpc.com/connect v1.21.1 // indirect
	connectrpc.com/grpchealth v1.5.0 // indirect
	connectrpc.com/grpcreflect v1.3.0 // indirect
	github.com/coder/websocket v1.8.15 // indirect
	github.com/prometheus/client_golang v1.25.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.uber.org/goleak v1.3.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	claudemesh.dev/db => ../db
	claudemesh.dev/edge => ../edge
	claudemesh.dev/gen => ../gen
)
