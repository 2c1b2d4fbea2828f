-- reload_keeps_identity_cache.lua - a reload with the same identity sources keeps the
-- identity cache: with the source down, an identity answered before the SIGHUP is still
-- served stale (and the log says so); changed sources start with a fresh cache
local T = dofile(LIB)
local function send(from, qid)
  return T.send{ ip = "10.0.0.5", from = "<x@example.net>", qid = qid, headers = {{ "From", from }} }
end
local function reload(n)
  T.signal("HUP")
  for _ = 1, 100 do
    if T.log_count("reloaded (version", true) >= n then return end
    mt.sleep(0.05)
  end
  T.fail("reload " .. n .. " not logged")
end

T.case("reload_with_same_sources_keeps_the_cache_for_stale_answers", function()
  local c, r = send("ok@stale.example", "RELOAD1"); T.expect_accept(r); mt.disconnect(c)
  T.write(WORK .. "/outage", "down\n")
  reload(1)
  mt.sleep(1.5) -- the positive TTL (1 s) has passed: the source is asked and fails
  c, r = send("ok@stale.example", "RELOAD2"); T.expect_accept(r, "stale answer after the reload")
  mt.disconnect(c)
  T.expect(T.log_line("RELOAD2: identity gate: stale answer served because the source failed",
                      "from <ok@stale.example>: verified by ok@stale.example from source t"),
           "the stale answer is not logged")
  T.expect(T.log_line("RELOAD2: identity gate: stale answer", "outage"), "no reason in the stale line")
  T.expect(T.log_count("RELOAD2: identity gate: stale answer", true) == 1, "stale line not once")
end)

T.case("reload_with_changed_sources_starts_a_fresh_cache", function()
  local f = assert(io.open(CONF, "r")); local text = f:read("a"); f:close()
  text = text:gsub('default = "unknown";', 'default = "unknown"; delay_ms = 0;')
  T.write(CONF, text)
  reload(2)
  local c, r = send("ok@stale.example", "RELOAD3")
  T.expect_reply(c, r, "451", "4.7.1")
  mt.disconnect(c)
  os.remove(WORK .. "/outage")
end)
