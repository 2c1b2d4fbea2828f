-- a reload checks like a start: after the privilege drop a plugin owned by the user
-- the daemon runs as is still refused, and so is a configuration that user may change
local T = dofile(LIB)
T.case("reload_refuses_plugin_owned_by_the_run_user", function()
  local c, r = T.send{ ip = "10.0.0.5", qid = "P1", from = "<a@example.com>", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r); mt.disconnect(c)
  local f = assert(io.open(CONF, "r")); local text = f:read("a"); f:close()
  T.write(CONF, (text:gsub('plugin = "file";', 'plugin = "userfile";')))
  T.signal("HUP")
  T.expect(T.log_has("reload refused: [^\n]*userfile%.so: unsafe: owned by uid 65534"),
           "a plugin of the run user must be refused at a reload")
  T.expect(T.log_count("reloaded (version", true) == 0, "the reload must not swap in")
  c, r = T.send{ ip = "10.0.0.5", qid = "P2", from = "<a@example.com>", headers = {{ "From", "a@example.com" }} }
  T.expect_accept(r, "the running configuration stays"); mt.disconnect(c)
end)
T.case("reload_refuses_a_configuration_the_run_user_may_change", function()
  -- the helper opens as root what the configuration names: only a file root alone
  -- may change is trusted so
  local f = assert(io.open(CONF, "r")); local text = f:read("a"); f:close()
  T.write(CONF, (text:gsub('plugin = "userfile";', 'plugin = "file";')))
  os.execute("chown nobody " .. CONF)
  T.signal("HUP")
  T.expect(T.log_has("reload refused: [^\n]*milter%.conf: must be a file of root's that only root may write"),
           "a configuration of the run user must be refused at a reload")
  os.execute("chown root " .. CONF)
  T.signal("HUP")
  T.expect(T.log_has("reloaded (version", true), "root's configuration reloads again")
end)
