module claudemesh.dev/edge

go 1.26.0
