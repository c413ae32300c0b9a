"""The gateway's endpoints, one module per service behind it (mixed into GatewayService)."""
