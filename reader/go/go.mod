module github.com/usagectl/usagectl/reader/go

go 1.21
