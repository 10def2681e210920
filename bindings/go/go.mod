module libapollo/bindings/go

go 1.19
