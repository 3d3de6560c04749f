module claudemesh.dev/services

go 1.26.0
