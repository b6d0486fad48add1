"""The Slack edge: body limits, signatures, the replay guard, the HTTP server, signed values,
the Slack directory."""
