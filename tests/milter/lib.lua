-- lib.lua - shared helpers for the miltertest scenarios
--
-- Each scenario is a few lines:
--   local T = dofile(LIB)
--   T.case("name_says_what_it_proves", function()
--     local c, r = T.send{ auth = "alice", from = "<a@example.com>", headers = {{"From", "a@example.com"}} }
--     T.expect_reply(c, r, "550", "5.7.1")
--   end)
-- Globals set by run-case.sh: SOCK (milter socket), LIB, LOG (the milter's log file),
-- PIDFILE, CONF (the configuration file), WORK (the work folder).

local T = {}

function T.fail(msg) error(msg, 2) end

function T.expect(cond, msg)
  if not cond then error(msg, 2) end
end

-- reply names for messages
local names = {}
for k, v in pairs({ ACCEPT = SMFIR_ACCEPT, CONTINUE = SMFIR_CONTINUE, REJECT = SMFIR_REJECT,
                    TEMPFAIL = SMFIR_TEMPFAIL, REPLYCODE = SMFIR_REPLYCODE, DISCARD = SMFIR_DISCARD,
                    SKIP = SMFIR_SKIP }) do
  if v then names[v] = k end
end
function T.name(r) return names[r] or tostring(r) end

-- T.connect{ host =, ip = } -> conn
function T.connect(o)
  o = o or {}
  local c = mt.connect(SOCK, 40, 0.05)
  T.expect(c ~= nil, "cannot connect to " .. SOCK)
  mt.macro(c, SMFIC_CONNECT, "j", "mx.test.example", "{daemon_name}", "smtpd")
  T.expect(mt.conninfo(c, o.host or "client.example.net", o.ip or "198.51.100.7") == nil, "conninfo failed")
  T.expect(mt.getreply(c) == SMFIR_CONTINUE, "connect: unexpected reply " .. T.name(mt.getreply(c)))
  -- an explicit HELO: miltertest's implicit one would swallow the MAIL macros
  -- (ses-milter asks for no HELO at all: SMFIP_NOHELO)
  if not mt.test_option(c, SMFIP_NOHELO) then
    T.expect(mt.helo(c, o.helo or "client.example.net") == nil, "helo failed")
    T.expect(mt.getreply(c) == SMFIR_CONTINUE, "helo: unexpected reply")
  end
  return c
end

-- T.send{ ...connect options..., auth =, qid =, from =, mail_args = {"SMTPUTF8"}, rcpts = {},
--          headers = {{n, v}}, body = }
-- Runs one transaction up to end of message; returns conn and the last reply.
-- Stops early (returning that reply) when the milter ends the transaction.
T.seq = 0
function T.send(o, c)
  c = c or T.connect(o)
  T.seq = T.seq + 1
  local qid = o.qid or string.format("TQ%04d", T.seq)
  T.last_qid = qid
  if o.auth then
    mt.macro(c, SMFIC_MAIL, "i", qid, "{auth_authen}", o.auth)
  else
    mt.macro(c, SMFIC_MAIL, "i", qid)
  end
  T.expect(mt.mailfrom(c, o.from or "<sender@example.com>", table.unpack(o.mail_args or {})) == nil,
           "mailfrom failed")
  local r = mt.getreply(c)
  if r ~= SMFIR_CONTINUE then return c, r end
  for _, rc in ipairs(o.rcpts or { "<rcpt@example.org>" }) do
    T.expect(mt.rcptto(c, rc) == nil, "rcptto failed")
    r = mt.getreply(c)
    if r ~= SMFIR_CONTINUE then return c, r end
  end
  if not mt.test_option(c, SMFIP_NODATA) then
    T.expect(mt.data(c) == nil, "data failed")
    r = mt.getreply(c)
    if r ~= SMFIR_CONTINUE then return c, r end
  end
  if not mt.test_option(c, SMFIP_NOHDRS) then
    for _, h in ipairs(o.headers or {}) do
      T.expect(mt.header(c, h[1], h[2]) == nil, "header failed")
      r = mt.getreply(c)
      if r ~= SMFIR_CONTINUE then return c, r end
    end
  end
  if not mt.test_option(c, SMFIP_NOEOH) then
    T.expect(mt.eoh(c) == nil, "eoh failed")
    r = mt.getreply(c)
    if r ~= SMFIR_CONTINUE then return c, r end
  end
  if not mt.test_option(c, SMFIP_NOBODY) then
    T.expect(mt.bodystring(c, o.body or "Hello.\r\n") == nil, "body failed")
    r = mt.getreply(c)
    if r ~= SMFIR_CONTINUE and r ~= SMFIR_SKIP then return c, r end
  end
  T.expect(mt.eom(c) == nil, "eom failed")
  return c, mt.getreply(c)
end

-- T.expect_accept(r): the message goes on unchanged in its fate
function T.expect_accept(r, what)
  T.expect(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE,
           (what or "message") .. ": expected accept, got " .. T.name(r))
end

-- T.expect_reply(c, r, code, xcode[, text]): a reject or tempfail with this reply
function T.expect_reply(c, r, code, xcode, text)
  T.expect(r == SMFIR_REPLYCODE or r == SMFIR_REJECT or r == SMFIR_TEMPFAIL,
           "expected a reply code, got " .. T.name(r))
  local ok
  if text then
    ok = mt.eom_check(c, MT_SMTPREPLY, code, xcode, text)
  else
    -- miltertest's two-argument form does not match; check the code here and the
    -- enhanced status code in the milter's summary line
    ok = T.log_line(T.last_qid .. ": action=", 'reply="' .. code .. " " .. xcode .. " ")
  end
  T.expect(ok, "expected reply " .. code .. " " .. xcode .. (text and (" " .. text) or ""))
end

-- T.log_has(pattern): the milter's log contains a line matching the Lua pattern
function T.log_has(pattern, plain)
  for _ = 1, 40 do
    local f = io.open(LOG, "r")
    if f then
      local all = f:read("a"); f:close()
      if all:find(pattern, 1, plain) then return true end
    end
    mt.sleep(0.05)
  end
  return false
end

-- T.log_line(prefix, needle): a log line containing prefix also contains needle (plain text)
function T.log_line(prefix, needle)
  for _ = 1, 40 do
    local f = io.open(LOG, "r")
    if f then
      for line in f:lines() do
        if line:find(prefix, 1, true) and line:find(needle, 1, true) then f:close(); return true end
      end
      f:close()
    end
    mt.sleep(0.05)
  end
  return false
end

function T.log_count(pattern, plain)
  local f = io.open(LOG, "r"); if not f then return 0 end
  local all = f:read("a"); f:close()
  local n, pos = 0, 1
  while true do
    local s, e = all:find(pattern, pos, plain)
    if not s then return n end
    n = n + 1; pos = e + 1
  end
end

-- T.signal(name): send a signal to the milter
function T.signal(sig)
  local f = assert(io.open(PIDFILE, "r")); local pid = f:read("l"); f:close()
  os.execute("kill -" .. sig .. " " .. pid)
end

function T.write(path, text)
  local f = assert(io.open(path, "w")); f:write(text); f:close()
end

function T.case(name, fn)
  local ok, err = xpcall(fn, debug.traceback)
  if not ok then
    mt.echo("FAIL " .. name .. ": " .. tostring(err))
    os.exit(1)
  end
  mt.echo("PASS " .. name)
end

-- T.probe(addr[, conf]) -> { status =, reply =, verdict =, identity =, source =, alignment =,
--   out = } : what "ses-milter -t ADDR" prints for the configuration the milter runs with
function T.probe(addr, conf)
  local cmd = string.format("'%s/ses-milter' -c '%s' -t '%s' 2>&1", os.getenv("SM_BUILDDIR"),
                            conf or CONF, addr)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, _, status = p:close()
  local res = { status = status, out = out }
  for k, v in out:gmatch("\n  (%a+): +([^\n]*)") do
    if res[k] == nil then res[k] = v end
  end
  return res
end

-- T.expect_probe_matches(c, r, p): the milter's reply r equals the reply "ses-milter -t" printed
function T.expect_probe_matches(c, r, p, what)
  local code, xcode, text = (p.reply or ""):match("^(%d%d%d) (%d%.%d+%.%d+) (.*)$")
  if code then
    T.expect_reply(c, r, code, xcode, text)
  else
    T.expect((p.reply or ""):match("^250 "), (what or "") .. ": -t printed no reply: " .. p.out)
    T.expect_accept(r, what)
  end
end

return T
