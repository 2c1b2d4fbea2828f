local T = dofile(LIB)
T.case("scope_inbound_is_accepted_at_first_rcpt", function()
  -- an outside client, not authenticated: ses-milter steps aside at the first RCPT
  -- (where the MTA's queue id is known, so the debug line carries it)
  local c, r = T.send{ ip = "198.51.100.7", from = "<x@outside.example>" }
  T.expect(r == SMFIR_ACCEPT, "expected accept at RCPT, got " .. T.name(r))
  T.expect(T.log_has(T.last_qid .. ": not outgoing", true), "debug line about the decision missing")
  mt.disconnect(c)
end)
