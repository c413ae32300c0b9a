"""The HTTP/RPC contracts each service publishes: the schemas the gateway documents and the
service validates, importable without a service's domain (like shared/catalogue/ for events)."""
