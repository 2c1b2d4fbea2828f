local T = dofile(LIB)
T.case("reload_good_config_swaps_in", function()
  -- before: 192.0.2.0/24 is outside
  local c, r = T.send{ ip = "192.0.2.10", qid = "BEFORE1" }
  T.expect(r == SMFIR_ACCEPT, "expected accept at DATA")
  T.expect(T.log_has("BEFORE1: not outgoing", true), "192.0.2.10 should be outside before reload")
  mt.disconnect(c)
  local f = assert(io.open(CONF, "r")); local text = f:read("a"); f:close()
  text = text:gsub('"10.0.0.0/8"', '"10.0.0.0/8", "192.0.2.0/24"')
  T.write(CONF, text)
  T.signal("HUP")
  T.expect(T.log_has("reloaded (version", true), "reload not logged")
  c, r = T.send{ ip = "192.0.2.10", qid = "AFTER1", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r)
  T.expect(T.log_has("AFTER1: action=accept outcome=completed scope=internal-network", true), "new network not in effect")
  mt.disconnect(c)
end)
