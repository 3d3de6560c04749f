module claudemesh.dev/gen

go 1.26.0
