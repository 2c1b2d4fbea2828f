local T = dofile(LIB)
T.case("scope_inbound_is_accepted_at_mail_from", function()
  -- an outside client, not authenticated: ses-milter steps aside at MAIL FROM
  local c, r = T.send{ ip = "198.51.100.7", from = "<x@outside.example>" }
  T.expect(r == SMFIR_ACCEPT, "expected accept at MAIL FROM, got " .. T.name(r))
  T.expect(T.log_has("TESTQID01: not outgoing", true), "debug line about the decision missing")
  mt.disconnect(c)
end)
