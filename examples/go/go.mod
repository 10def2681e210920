module libapollo/examples/go

go 1.19

require libapollo/bindings/go v0.0.0

replace libapollo/bindings/go => ../../bindings/go
