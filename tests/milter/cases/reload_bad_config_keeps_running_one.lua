local T = dofile(LIB)
T.case("reload_bad_config_keeps_running_one", function()
  -- break the file: the reload is refused with file:line and mail still flows
  local f = assert(io.open(CONF, "r")); local text = f:read("a"); f:close()
  T.write(CONF, (text:gsub("scope: {", "scope: {\n  bogus = 1;")))
  T.signal("HUP")
  T.expect(T.log_has("reload refused: .*milter%.conf:%d+: unknown setting 'scope.bogus'"),
           "reload refusal with file:line missing")
  local c, r = T.send{ ip = "10.1.1.1", qid = "AFTERBAD", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r)
  T.expect(T.log_has("AFTERBAD: action=accept outcome=completed scope=internal-network", true), "old configuration not serving")
  mt.disconnect(c)
end)
