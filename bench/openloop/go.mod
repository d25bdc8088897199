module chatbench/openloop

go 1.21
