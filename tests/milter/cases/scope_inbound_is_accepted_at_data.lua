local T = dofile(LIB)
T.case("scope_inbound_is_accepted_at_data", function()
  -- an outside client, not authenticated: ses-milter steps aside at DATA, before
  -- headers and body (Postfix sends the queue id there, so the debug line carries it)
  local c, r = T.send{ ip = "198.51.100.7", from = "<x@outside.example>" }
  T.expect(r == SMFIR_ACCEPT, "expected accept at DATA, got " .. T.name(r))
  T.expect(T.log_has(T.last_qid .. ": not outgoing", true), "debug line about the decision missing")
  mt.disconnect(c)
end)
