local T = dofile(LIB)
-- abort_table.lua - the milter side of "every SMTP path": a transaction ended at every
-- milter step (after connect, HELO, MAIL, the first RCPT, the second RCPT, DATA, one
-- header, end of headers, one body chunk, end of message) by SMFIC_ABORT (what Postfix
-- sends on RSET, a refused last RCPT or a lost client; the connection then carries the
-- next message), by SMFIC_QUIT, or by the MTA closing the socket without a word,
-- for each scope: inbound (outside client), internal network, authenticated
-- ({auth_authen}), local submission (Postfix's non-SMTP "localhost", no address), and
-- system mail (an internal client whose recipients the MTA delivers locally:
-- {rcpt_mailer} "local", scope.system_mail = "accept").
-- ses-milter asks for no HELO (SMFIP_NOHELO), so "after-helo" is the MTA's view only.
-- Each row proves: the daemon is still the same process and logged no crash, the next
-- message is served, an outgoing transaction that reached MAIL FROM and did not end in
-- end of message has exactly one aborted record (action=aborted outcome=aborted), one
-- that reached end of message has exactly one completed record and no aborted one, and
-- inbound mail has none.  A last pass re-counts every row's records (nothing written
-- twice later, e.g. at close).

local AUDIT = WORK .. "/audit/audit.jsonl"

local scopes = {
  { name = "inbound", host = "client.example.net", ip = "198.51.100.7" },
  { name = "internal", host = "client.example.net", ip = "10.1.2.3", scope = "internal-network" },
  { name = "authenticated", host = "client.example.net", ip = "198.51.100.7", auth = "alice",
    scope = "authenticated" },
  { name = "local", host = "localhost", ip = "unspec", scope = "local-submission" },
  { name = "system-mail", host = "client.example.net", ip = "10.1.2.3", scope = "internal-network",
    rcpt_mailer = "local" },
}
local points = { "connect", "helo", "mail", "rcpt1", "rcpt2", "data", "header", "eoh", "body", "eom" }
local endings = { "abort", "quit", "close" }
local MAIL_AT = 3 -- index of "mail" in points

local function read_pid()
  local f = io.open(PIDFILE, "r")
  if not f then return nil end
  local p = f:read("l"); f:close()
  return p
end
local PID = read_pid()

-- records() - the audit file's records as { qid, action, outcome, scope }
local function records()
  local out = {}
  local f = io.open(AUDIT, "r")
  if not f then return out end
  for line in f:lines() do
    out[#out + 1] = { qid = line:match('"qid":"([^"]*)"'), action = line:match('"action":"([^"]*)"'),
                      outcome = line:match('"outcome":"([^"]*)"'),
                      env = line:match('"env_from":"([^"]*)"'), scope = line:match('"scope":{[^}]*"reason":"([^"]*)"') }
  end
  f:close()
  return out
end

-- count(qid) - records of this queue id: total, aborted, completed, scopes seen, and
-- an envelope sender not in the bare form of a completed record ("a@b", not "<a@b>")
local function count(qid)
  local n, ab, done, sc, badenv = 0, 0, 0, {}, nil
  for _, r in ipairs(records()) do
    if r.qid == qid then
      n = n + 1
      if not r.env or r.env:find("[<>]") then badenv = tostring(r.env) end
      if r.action == "aborted" and r.outcome == "aborted" then ab = ab + 1 end
      if r.outcome == "completed" then done = done + 1 end
      sc[r.scope or "?"] = true
    end
  end
  return n, ab, done, sc, badenv
end

-- wait_records(want) - bounded wait until every qid in want has at least its count
local function wait_records(want)
  for _ = 1, 100 do
    local ok = true
    for qid, w in pairs(want) do
      if count(qid) < w.n then ok = false end
    end
    if ok then return end
    mt.sleep(0.02)
  end
end

local function daemon_up()
  local log = io.open(LOG, "r"); local all = log and log:read("a") or ""; if log then log:close() end
  for _, bad in ipairs({ "AddressSanitizer", "runtime error:", "SIGSEGV", "Segmentation fault",
                         "core dumped" }) do
    T.expect(not all:find(bad, 1, true), "crash in the daemon's log: " .. bad)
  end
  local _, starts = all:gsub("%]: ses%-milter [^\n]* started on ", "")
  T.expect(starts == 1, "the daemon started " .. starts .. " times")
  T.expect(read_pid() == PID and os.execute("kill -0 " .. PID .. " 2>/dev/null"),
           "the daemon is not the same process (pid " .. tostring(PID) .. ")")
end

local function connect(sc)
  local c = mt.connect(SOCK, 40, 0.05)
  T.expect(c ~= nil, "cannot connect to the milter")
  mt.macro(c, SMFIC_CONNECT, "j", "mx.test.example", "{daemon_name}", "smtpd")
  T.expect(mt.conninfo(c, sc.host, sc.ip) == nil, "conninfo failed")
  mt.getreply(c)
  return c
end

-- go(c, sc, qid, upto) - run the transaction up to and including step index upto;
-- returns false when the milter ended the transaction itself (inbound: accept at DATA)
local function go(c, sc, qid, upto)
  local function cont(r, what)
    T.expect(r == SMFIR_CONTINUE or r == SMFIR_ACCEPT, what .. ": reply " .. T.name(r))
    return r == SMFIR_CONTINUE
  end
  local steps = {
    function() -- connect: done in connect()
      return true
    end,
    function()
      if mt.test_option(c, SMFIP_NOHELO) then return true end -- ses-milter asks for no HELO
      T.expect(mt.helo(c, "client.example.net") == nil, "helo failed")
      return cont(mt.getreply(c), "helo")
    end,
    function()
      if sc.auth then
        mt.macro(c, SMFIC_MAIL, "i", qid, "{auth_authen}", sc.auth)
      else
        mt.macro(c, SMFIC_MAIL, "i", qid)
      end
      T.expect(mt.mailfrom(c, "<" .. qid:lower() .. "@example.com>") == nil, "mailfrom failed")
      return cont(mt.getreply(c), "mail")
    end,
    function()
      if sc.rcpt_mailer then mt.macro(c, SMFIC_RCPT, "{rcpt_mailer}", sc.rcpt_mailer) end
      T.expect(mt.rcptto(c, "<bob@example.org>") == nil, "rcpt 1 failed")
      return cont(mt.getreply(c), "rcpt 1")
    end,
    function()
      if sc.rcpt_mailer then mt.macro(c, SMFIC_RCPT, "{rcpt_mailer}", sc.rcpt_mailer) end
      T.expect(mt.rcptto(c, "<carol@example.org>") == nil, "rcpt 2 failed")
      return cont(mt.getreply(c), "rcpt 2")
    end,
    function()
      if mt.test_option(c, SMFIP_NODATA) then return true end
      T.expect(mt.data(c) == nil, "data failed")
      return cont(mt.getreply(c), "data")
    end,
    function()
      T.expect(mt.header(c, "From", "Alice <alice@example.com>") == nil, "header failed")
      return cont(mt.getreply(c), "header")
    end,
    function()
      T.expect(mt.header(c, "Subject", "row " .. qid) == nil, "header failed")
      cont(mt.getreply(c), "header")
      T.expect(mt.eoh(c) == nil, "eoh failed")
      return cont(mt.getreply(c), "eoh")
    end,
    function()
      T.expect(mt.bodystring(c, "first half of the body\r\n") == nil, "body failed")
      local r = mt.getreply(c)
      return r == SMFIR_SKIP or cont(r, "body")
    end,
    function()
      T.expect(mt.bodystring(c, "second half\r\n") == nil, "body failed")
      mt.getreply(c)
      T.expect(mt.eom(c) == nil, "eom failed")
      local r = mt.getreply(c)
      T.expect(r == SMFIR_ACCEPT or r == SMFIR_CONTINUE, "eom: reply " .. T.name(r))
      return false
    end,
  }
  for i = 1, upto do
    if not steps[i]() then return false end
  end
  return true
end

-- next_message(sc, qid, c) - a whole message from a verified From, on c or a new connection
local function next_message(sc, qid, c)
  local c2, r = T.send({ host = sc.host, ip = sc.ip, auth = sc.auth, qid = qid,
                         from = "<next@example.com>", headers = {{ "From", "a@example.com" }} }, c)
  T.expect_accept(r, "the next message")
  return c2
end

local failed, rows = 0, {}

-- row(name, sc, body, want) - run one row; want: qid -> { n =, aborted =, completed = }
local function row(name, sc, body, want, proves)
  local ok, err = pcall(function()
    body()
    wait_records(want)
    daemon_up()
    for qid, w in pairs(want) do
      local n, ab, done, seen, badenv = count(qid)
      T.expect(not badenv, qid .. ": env_from recorded as " .. tostring(badenv) .. ", not as a bare address")
      T.expect(n == w.n and ab == (w.aborted or 0) and done == (w.completed or 0),
               string.format("%s: %d records (%d aborted, %d completed), want %d (%d aborted, %d completed)",
                             qid, n, ab, done, w.n, w.aborted or 0, w.completed or 0))
      T.expect(n == 0 or (sc.scope and seen[sc.scope]), qid .. ": record without scope " .. tostring(sc.scope))
    end
  end)
  rows[#rows + 1] = { name = name, want = want }
  if ok then
    mt.echo("PASS " .. name .. ": " .. proves)
  else
    failed = failed + 1
    local up, why = pcall(daemon_up)
    mt.echo("FAIL " .. name .. ": " .. (up and "" or ("daemon down (" .. tostring(why) .. "); ")) .. tostring(err))
  end
end

local id = 0
for _, sc in ipairs(scopes) do
  for pi, point in ipairs(points) do
    for _, ending in ipairs(endings) do
      id = id + 1
      local qid = string.format("AT%03d", id)
      local nqid = qid .. "N"
      local out = sc.scope ~= nil
      local want = { [qid] = { n = 0 }, [nqid] = { n = out and 1 or 0, completed = out and 1 or 0 } }
      local proves
      if out and point == "eom" then
        want[qid] = { n = 1, completed = 1 }
        proves = "daemon up, next served, one completed record, none aborted"
      elseif out and pi >= MAIL_AT then
        want[qid] = { n = 1, aborted = 1 }
        proves = "daemon up, next served, one aborted record"
      elseif out then
        proves = "daemon up, next served, no record (no transaction)"
      else
        proves = "daemon up, next served, no record (inbound)"
      end
      row(sc.name .. "/" .. ending .. "-after-" .. point, sc, function()
        local c = connect(sc)
        go(c, sc, qid, pi)
        if ending == "abort" then
          T.expect(mt.abort(c) == nil, "abort failed")
          next_message(sc, nqid, c) -- like RSET: the same connection carries the next message
          mt.disconnect(c, true)
        else
          mt.disconnect(c, ending == "quit")
          mt.disconnect(next_message(sc, nqid), true)
        end
      end, want, proves)
    end
  end
  -- the same transaction aborted twice, then the connection closed: one record
  id = id + 1
  local q2 = string.format("AT%03d", id)
  row(sc.name .. "/abort-twice-then-close-after-rcpt1", sc, function()
    local c = connect(sc)
    go(c, sc, q2, 4)
    T.expect(mt.abort(c) == nil and mt.abort(c) == nil, "abort failed")
    mt.disconnect(c, false)
  end, { [q2] = { n = sc.scope and 1 or 0, aborted = sc.scope and 1 or 0 } },
  sc.scope and "daemon up, one aborted record, not two" or "daemon up, no record (inbound)")
  -- a completed message, then a second transaction on the connection aborted after MAIL
  id = id + 1
  local q3 = string.format("AT%03d", id)
  row(sc.name .. "/second-message-aborted-after-mail", sc, function()
    local c = next_message(sc, q3 .. "A")
    go(c, sc, q3 .. "B", MAIL_AT)
    T.expect(mt.abort(c) == nil, "abort failed")
    mt.disconnect(c, true)
  end, { [q3 .. "A"] = { n = sc.scope and 1 or 0, completed = sc.scope and 1 or 0 },
         [q3 .. "B"] = { n = sc.scope and 1 or 0, aborted = sc.scope and 1 or 0 } },
  sc.scope and "daemon up, the first message completed, the second aborted, one record each"
           or "daemon up, no record (inbound)")
end

-- system mail ended after RCPT by RSET: the next transaction on the connection, an
-- unverified sender to a remote recipient, is gated again (the local-recipient count
-- does not carry over) and refused
id = id + 1
local qs = string.format("AT%03d", id)
row("system-mail/abort-after-rcpt1-then-unverified-remote", scopes[5], function()
  local c = connect(scopes[5])
  go(c, scopes[5], qs, 4)
  T.expect(mt.abort(c) == nil, "abort failed")
  local _, r = T.send({ qid = qs .. "N", from = "<eve@unverified.example>", rcpts = { "<bob@example.org>" },
                        headers = {{ "From", "eve@unverified.example" }} }, c)
  T.expect_reply(c, r, "550", "5.7.1")
  mt.disconnect(c, true)
end, { [qs] = { n = 1, aborted = 1 }, [qs .. "N"] = { n = 1, completed = 1 } },
"daemon up, the aborted system-mail transaction recorded, the next (remote, unverified) refused")

-- before any client information: the MTA's connection closed before, or right after,
-- option negotiation (no SMFIC_CONNECT): no record, the next message is served
for _, neg in ipairs({ false, true }) do
  id = id + 1
  local q = string.format("AT%03d", id)
  row(neg and "any/quit-after-negotiation" or "any/close-before-negotiation", scopes[2], function()
    local c = mt.connect(SOCK, 40, 0.05)
    T.expect(c ~= nil, "cannot connect to the milter")
    if neg then
      T.expect(mt.negotiate(c, nil, nil, nil) == nil, "negotiation failed")
    end
    mt.disconnect(c, neg)
    mt.disconnect(next_message(scopes[2], q .. "N"), true)
  end, { [q .. "N"] = { n = 1, completed = 1 } }, "daemon up, next served, no record")
end

-- last pass: nothing written twice after its row (at close, on a later message)
mt.sleep(0.2)
local late = 0
for _, r in ipairs(rows) do
  for qid, w in pairs(r.want) do
    local n = count(qid)
    if n ~= w.n then
      late = late + 1
      mt.echo("FAIL " .. r.name .. ": " .. qid .. " has " .. n .. " records at the end, want " .. w.n)
    end
  end
end
if late == 0 then mt.echo("PASS abort_table: no record written twice, " .. #rows .. " rows") end
T.case("abort_table: " .. #rows .. " rows, " .. failed .. " failed", function()
  T.expect(failed == 0 and late == 0, failed .. " rows failed, " .. late .. " records changed later")
end)
