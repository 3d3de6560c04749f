module claudemesh.dev/edge

go 1.26.0

require (
	claudemesh.dev/gen v0.0.0
	google.golang.org/protobuf v1.36.12
)

replace claudemesh.dev/gen => ../gen
