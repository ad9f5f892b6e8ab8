module github.com/mldata-io/mldata/hack/node

go 1.26.8
