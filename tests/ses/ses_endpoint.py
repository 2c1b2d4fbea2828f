#!/usr/bin/env python3
"""ses_endpoint.py - an SESv2 test endpoint on 127.0.0.1 that checks SigV4 with botocore.

Serves GetEmailIdentity, ListEmailIdentities (paged) and GetAccount from a
JSON fixture; GetSuppressedDestination (404 when not suppressed),
ListSuppressedDestinations (paged, fixture["suppression_page"] per page) and
ListResourceTenants from its "suppressed" and "tenants" (sessupp block).
fixture["regions"] lists the regions whose signatures it accepts (default:
fixture["region"]); credentials with an "account" see the identities of
fixture["accounts"][ACCOUNT] (per region under "regions"), for cross-account
sending authorization.  Every SES request's signature is recomputed independently
with botocore.auth.SigV4Auth on a botocore.awsrequest.AWSRequest rebuilt
from the received method, path, query, signed headers and body; a mismatch
is answered 403 SignatureDoesNotMatch with the canonical request and the
string to sign echoed in the message, as AWS does (session token included).  It also plays the credential
services the plugin's chain uses: EC2 IMDSv2 (/latest/...), a container
credentials endpoint (/container/creds) and STS AssumeRoleWithWebIdentity
(POST /sts/), issuing temporary credentials that expire after
fixture["temp_ttl"] seconds.

Control (no signature needed):
  GET  /__stats               counts and timestamps per API (times: monotonic, wall: epoch), as JSON
  POST /__mode?ses=M&creds=C  M: ok | 429 | 500 | denied | expired | silent | slow:MS
                              C: ok | 500
  POST /__reset               clear the counters
  POST /__mode?account=A      GetAccount variant (helper sesacct's block, ACCOUNT_VARIANTS):
                              fixture (default: fixture["account"]) | healthy | sandbox |
                              probation | shutdown | disabled |
                              quota:MAX24,RATE,SENT (healthy, with that SendQuota)

Usage: ses_endpoint.py --fixture F --port-file P [--tls-cert C --tls-key K] [--doctor]
--doctor adds the GetEmailIdentity variants of "ses-milter doctor" (doctor_identities()).
The port file is written (atomically) once the socket listens.
Needs botocore (Debian: apt-get install python3-botocore).
"""
import argparse
import datetime
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

LOCK = threading.Lock()
STATS = {"counts": {}, "times": {}, "wall": {}}
MODE = {"ses": "ok", "creds": "ok"}
FIX = {}
KEYS = {}  # access key id -> (secret, token or None, expiration epoch or None)
ACCOUNTS = {}  # sessupp: access key id -> account id (credentials with "account")
ISSUED = [0]


def record(api):
    with LOCK:
        STATS["counts"][api] = STATS["counts"].get(api, 0) + 1
        STATS["times"].setdefault(api, []).append(time.monotonic())
        STATS["wall"].setdefault(api, []).append(time.time())


def issue_temp(kind):
    """Temporary credentials that the SES side will accept until they expire."""
    with LOCK:
        ISSUED[0] += 1
        n = ISSUED[0]
    ak = "ASIATEST%s%04d" % (kind.upper()[:4], n)
    sk = "tempSecret/%s/%04d/DO-NOT-LOG" % (kind, n)
    tok = "tempToken%s%04dSESSIONTOKENDONOTLOG" % (kind, n)
    exp = time.time() + float(FIX.get("temp_ttl", 3600))
    with LOCK:
        KEYS[ak] = (sk, tok, exp)
    iso = datetime.datetime.fromtimestamp(exp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return ak, sk, tok, iso


# ---- GetAccount variants (helper sesacct) ---------------------------------------
# Selected with POST /__mode?account=NAME; every variant is signed and checked like
# any other SES request.  SendQuota defaults to a production account's (50000/24 h,
# 14/s); the sandbox's is SES's own (200/24 h, 1/s).
ACCOUNT_VARIANTS = {
    "healthy": {"ProductionAccessEnabled": True, "SendingEnabled": True,
                "EnforcementStatus": "HEALTHY"},
    "sandbox": {"ProductionAccessEnabled": False, "SendingEnabled": True,
                "EnforcementStatus": "HEALTHY",
                "SendQuota": {"Max24HourSend": 200.0, "MaxSendRate": 1.0,
                              "SentLast24Hours": 0.0}},
    "probation": {"ProductionAccessEnabled": True, "SendingEnabled": True,
                  "EnforcementStatus": "PROBATION"},
    "shutdown": {"ProductionAccessEnabled": True, "SendingEnabled": False,
                 "EnforcementStatus": "SHUTDOWN"},
    "disabled": {"ProductionAccessEnabled": True, "SendingEnabled": False,
                 "EnforcementStatus": "HEALTHY"},
}


def account_answer(variant):
    """The GetAccount body for a variant name (see ACCOUNT_VARIANTS), else the fixture's."""
    if variant.startswith("quota:"):
        m24, rate, sent = (float(x) for x in variant[6:].split(","))
        body = dict(ACCOUNT_VARIANTS["healthy"])
        body["SendQuota"] = {"Max24HourSend": m24, "MaxSendRate": rate, "SentLast24Hours": sent}
        return body
    if variant in ACCOUNT_VARIANTS:
        body = dict(ACCOUNT_VARIANTS[variant])
        body.setdefault("SendQuota", {"Max24HourSend": 50000.0, "MaxSendRate": 14.0,
                                      "SentLast24Hours": 0.0})
        return body
    return FIX.get("account", {})
# ---- end of the GetAccount variants -----------------------------------------------


def parse_authz(value):
    if not value.startswith("AWS4-HMAC-SHA256 "):
        return None
    parts = {}
    for item in value[len("AWS4-HMAC-SHA256 "):].split(","):
        k, _, v = item.strip().partition("=")
        parts[k] = v
    if not {"Credential", "SignedHeaders", "Signature"} <= set(parts):
        return None
    return parts


def botocore_authorization(handler, body, ak, sk, token, region, amz_date, signed):
    """Recompute the Authorization header with botocore's own SigV4 signer.

    Returns (authorization, canonical request, string to sign)."""
    host = handler.headers.get("Host", "")
    url = "http://%s%s" % (host, handler.path)
    headers = {}
    for name in signed.split(";"):
        vals = handler.headers.get_all(name) or []
        headers[name] = ",".join(vals)
    req = AWSRequest(method=handler.command, url=url, headers=headers, data=body)
    req.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(ak, sk, token), "ses", region)
    creq = auth.canonical_request(req)
    sts = auth.string_to_sign(req, creq)
    sig = auth.signature(sts, req)
    hdrs = auth.headers_to_sign(req)
    authz = "AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s" % (
        auth.scope(req), auth.signed_headers(hdrs), sig)
    return authz, creq, sts


def mismatch_message(creq, sts):
    """SignatureDoesNotMatch as AWS words it: the canonical request (with the signed
    headers' values, the session token among them) and the string to sign echoed."""
    return ("The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method. Consult the service "
            "documentation for details.\n\nThe Canonical String for this request should have "
            "been\n'%s'\n\nThe String-to-Sign should have been\n'%s'\n" % (creq, sts))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def send(self, status, obj=None, ctype="application/json", err=None, raw=None):
        data = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if err:
            self.send_header("x-amzn-ErrorType", err + ":http://internal.amazon.com/coral/")
        self.end_headers()
        self.wfile.write(data)

    def aws_error(self, status, code, msg):
        self.send(status, {"message": msg}, err=code)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    # ---- signature check ------------------------------------------------
    def check_sig(self, body):
        parts = parse_authz(self.headers.get("Authorization", ""))
        amz_date = self.headers.get("X-Amz-Date", "")
        if parts is None or not amz_date:
            record("BadSignature")
            self.aws_error(403, "MissingAuthenticationTokenException", "missing Authorization")
            return False
        cred = parts["Credential"].split("/")
        if len(cred) != 5 or cred[3] != "ses" or cred[4] != "aws4_request":
            record("BadSignature")
            self.aws_error(403, "IncompleteSignatureException", "bad credential scope")
            return False
        ak, region = cred[0], cred[2]
        with LOCK:
            entry = KEYS.get(ak)
        if entry is None:
            record("BadCredentials")
            self.aws_error(403, "UnrecognizedClientException",
                           "The security token included in the request is invalid.")
            return False
        sk, tok, exp = entry
        if tok is not None and self.headers.get("X-Amz-Security-Token") != tok:
            record("BadCredentials")
            self.aws_error(403, "UnrecognizedClientException", "session token mismatch")
            return False
        if exp is not None and time.time() > exp:
            record("ExpiredToken")
            self.aws_error(403, "ExpiredTokenException", "The security token included in the request is expired")
            return False
        try:
            t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            t = None
        if t is None or abs(time.time() - t.timestamp()) > 300:
            record("RequestExpired")
            self.aws_error(403, "RequestExpired", "Request has expired.")
            return False
        want, creq, sts = botocore_authorization(self, body, ak, sk, tok, region, amz_date,
                                                 parts["SignedHeaders"])
        if want != self.headers.get("Authorization"):
            record("BadSignature")
            self.aws_error(403, "SignatureDoesNotMatch", mismatch_message(creq, sts))
            return False
        if region not in (FIX.get("regions") or [FIX.get("region", "us-east-1")]):
            record("BadSignature")
            self.aws_error(403, "SignatureDoesNotMatch", "wrong region in scope")
            return False
        self.account = ACCOUNTS.get(ak)  # sessupp: the account these credentials belong to
        self.region = region
        return True

    def injected(self):
        """Apply the SES failure mode; True when the request was answered (or dropped)."""
        mode = MODE["ses"]
        if mode == "429":
            record("Throttled")
            self.aws_error(429, "TooManyRequestsException", "Too Many Requests")
            return True
        if mode == "denied":
            record("Denied")
            self.aws_error(403, "AccessDeniedException",
                           "User is not authorized to perform this action")
            return True
        if mode == "expired":
            record("RequestExpired")
            self.aws_error(403, "RequestExpired", "Request has expired.")
            return True
        if mode == "500":
            record("ServerError")
            self.aws_error(500, "InternalFailure", "injected")
            return True
        if mode == "silent":
            record("Silent")
            time.sleep(float(FIX.get("silent_s", 8)))
            self.close_connection = True
            return True
        if mode.startswith("slow:"):
            time.sleep(int(mode[5:]) / 1000.0)
        return False

    # ---- SES -------------------------------------------------------------
    def ses(self, body):
        u = urllib.parse.urlsplit(self.path)
        if not self.check_sig(body):
            return
        if self.injected():
            return
        prefix = "/v2/email/identities/"
        if self.sessupp(u, body):
            return
        if u.path.startswith(prefix):
            record("GetEmailIdentity")
            ident = urllib.parse.unquote(u.path[len(prefix):])
            item = self.identities().get(ident)
            if getattr(self, "account", None):  # sessupp: which account and region were asked
                record("GetEmailIdentity:%s:%s" % (self.account, self.region))
            if item is None:
                self.aws_error(404, "NotFoundException", "Email identity %s does not exist." % ident)
            else:
                self.send(200, item)
        elif u.path == "/v2/email/identities":
            record("ListEmailIdentities")
            self.list_identities(urllib.parse.parse_qs(u.query, keep_blank_values=True))
        elif u.path == "/v2/email/account":
            record("GetAccount")
            self.send(200, account_answer(MODE.get("account", FIX.get("account_variant", "fixture"))))
        else:
            self.aws_error(404, "UnknownOperationException", "no such API")

    def identities(self):
        """sessupp: the identities of the signing account/region: fixture["accounts"][ACCOUNT]
        ["identities"] (or [ACCOUNT]["regions"][REGION]["identities"]), else fixture["identities"]"""
        acct = FIX.get("accounts", {}).get(getattr(self, "account", None) or "")
        if acct is None:
            return FIX.get("identities", {})
        per_region = acct.get("regions", {}).get(getattr(self, "region", ""), None)
        return (per_region or acct).get("identities", {})

    def list_identities(self, q):
        ids = self.identities()
        names = sorted(ids)
        size = int(q.get("PageSize", ["1000"])[0])
        if size < 1 or size > 1000:
            self.aws_error(400, "BadRequestException", "PageSize out of range")
            return
        tok = q.get("NextToken", [""])[0]
        start = 0
        if tok:
            if not tok.startswith("tok/+= "):
                self.aws_error(400, "BadRequestException", "malformed NextToken")
                return
            start = int(tok[len("tok/+= "):])
        out = []
        for name in names[start:start + size]:
            item = ids[name]
            out.append({"IdentityName": name, "IdentityType": item.get("IdentityType"),
                        "SendingEnabled": bool(item.get("VerifiedForSendingStatus")),
                        "VerificationStatus": item.get("VerificationStatus")})
        res = {"EmailIdentities": out}
        if start + size < len(names):
            res["NextToken"] = "tok/+= %d" % (start + size)
        self.send(200, res)

    # ---- sessupp: suppression list, tenants (helper sessupp, issue 15) --------
    # fixture["suppressed"]: {address: {"Reason": "BOUNCE"|"COMPLAINT", "LastUpdateTime": epoch}}
    # fixture["tenants"]: {tenant name: [resource ARN, ...]}
    def sessupp(self, u, body):
        """The suppression and tenant APIs; True when the request was one of them."""
        prefix = "/v2/email/suppression/addresses"
        supp = FIX.get("suppressed", {})
        if u.path.startswith(prefix + "/"):
            record("GetSuppressedDestination")
            addr = urllib.parse.unquote(u.path[len(prefix) + 1:])
            item = supp.get(addr)  # SES matches the exact address
            if item is None:
                self.aws_error(404, "NotFoundException",
                               "Email address %s does not exist on your suppression list." % addr)
            else:
                self.send(200, {"SuppressedDestination": {
                    "EmailAddress": addr, "Reason": item["Reason"],
                    "LastUpdateTime": item.get("LastUpdateTime", 1764700000),
                    "Attributes": {"MessageId": "test", "FeedbackId": "test"}}})
            return True
        if u.path == prefix:
            record("ListSuppressedDestinations")
            q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
            names = sorted(supp)
            size = int(q.get("PageSize", ["1000"])[0])
            if size < 1 or size > 1000:
                self.aws_error(400, "BadRequestException", "PageSize out of range")
                return True
            size = min(size, int(FIX.get("suppression_page", 1000)))  # short pages force paging
            tok = q.get("NextToken", [""])[0]
            if tok and not tok.startswith("supp/+= "):
                self.aws_error(400, "BadRequestException", "malformed NextToken")
                return True
            start = int(tok[len("supp/+= "):]) if tok else 0
            out = [{"EmailAddress": n, "Reason": supp[n]["Reason"],
                    "LastUpdateTime": supp[n].get("LastUpdateTime", 1764700000)}
                   for n in names[start:start + size]]
            res = {"SuppressedDestinationSummaries": out}
            if start + size < len(names):
                res["NextToken"] = "supp/+= %d" % (start + size)
            self.send(200, res)
            return True
        if u.path == "/v2/email/tenants/resources/list" and self.command == "POST":
            record("ListTenantResources")
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                self.aws_error(400, "BadRequestException", "malformed JSON")
                return True
            name = req.get("TenantName")
            tenants = FIX.get("tenants", {})
            if not name:
                self.aws_error(400, "BadRequestException", "TenantName is required")
                return True
            if name not in tenants:
                self.aws_error(404, "NotFoundException", "Tenant %s does not exist." % name)
                return True
            want = (req.get("Filter") or {}).get("RESOURCE_TYPE")
            items = [{"ResourceType": "EMAIL_IDENTITY" if ":identity/" in a else "CONFIGURATION_SET",
                      "ResourceArn": a} for a in tenants[name]]
            items = [i for i in items if want is None or i["ResourceType"] == want]
            size = int(req.get("PageSize") or 100)
            start = int(req.get("NextToken") or 0)
            res = {"TenantResources": items[start:start + size]}
            if start + size < len(items):
                res["NextToken"] = str(start + size)
            self.send(200, res)
            return True
        if u.path == "/v2/email/resources/tenants/list" and self.command == "POST":
            record("ListResourceTenants")
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                self.aws_error(400, "BadRequestException", "malformed JSON")
                return True
            arn = req.get("ResourceArn")
            if not arn:
                self.aws_error(400, "BadRequestException", "ResourceArn is required")
                return True
            out = [{"TenantName": t, "TenantId": "tn-%s" % t, "ResourceArn": arn,
                    "AssociatedTimestamp": 1764700000}
                   for t, arns in sorted(FIX.get("tenants", {}).items()) if arn in arns]
            self.send(200, {"ResourceTenants": out})
            return True
        return False

    # ---- credential services ----------------------------------------------
    def creds_json(self, kind):
        ak, sk, tok, iso = issue_temp(kind)
        return {"Code": "Success", "AccessKeyId": ak, "SecretAccessKey": sk, "Token": tok,
                "Expiration": iso}

    def imds(self):
        if MODE["creds"] != "ok":
            record("CredsFailed")
            self.send(500, raw=b"injected", ctype="text/plain")
            return
        if self.command == "PUT" and self.path == "/latest/api/token":
            record("IMDSToken")
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                self.send(400, raw=b"", ctype="text/plain")
                return
            self.send(200, raw=b"imds-session-token", ctype="text/plain")
            return
        if self.headers.get("X-aws-ec2-metadata-token") != "imds-session-token":
            self.send(401, raw=b"", ctype="text/plain")
            return
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path == base:
            record("IMDSRole")
            self.send(200, raw=b"test-role\n", ctype="text/plain")
        elif self.path == base + "test-role":
            record("IMDSCreds")
            self.send(200, self.creds_json("imds"))
        else:
            self.send(404, raw=b"", ctype="text/plain")

    def container(self):
        record("Container")
        if MODE["creds"] != "ok":
            record("CredsFailed")
            self.send(500, {"message": "injected"})
        elif self.headers.get("Authorization") != FIX.get("container_token"):
            self.send(403, {"message": "bad authorization"})
        else:
            self.send(200, self.creds_json("container"))

    def sts(self, body):
        record("STS")
        form = urllib.parse.parse_qs(body.decode())
        if MODE["creds"] != "ok":
            self.send(500, raw=b"<ErrorResponse><Error><Code>InternalFailure</Code></Error></ErrorResponse>",
                      ctype="text/xml")
            return
        if (form.get("Action") != ["AssumeRoleWithWebIdentity"] or
                form.get("WebIdentityToken") != [FIX.get("web_identity_token")] or
                not form.get("RoleArn")):
            self.send(400, raw=b"<ErrorResponse><Error><Code>InvalidIdentityToken</Code></Error></ErrorResponse>",
                      ctype="text/xml")
            return
        ak, sk, tok, iso = issue_temp("sts")
        xml = ("<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
               "<AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>"
               "<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>"
               "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>" % (ak, sk, tok, iso))
        self.send(200, raw=xml.encode(), ctype="text/xml")

    # ---- control ------------------------------------------------------------
    def control(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path == "/__stats":
            with LOCK:
                self.send(200, STATS)
        elif u.path == "/__mode":
            for k, v in urllib.parse.parse_qs(u.query).items():
                MODE[k] = v[0]
            self.send(200, MODE)
        elif u.path == "/__reset":
            with LOCK:
                STATS["counts"].clear()
                STATS["times"].clear()
                STATS["wall"].clear()
            self.send(200, {})
        else:
            self.send(404, {})

    def route(self):
        body = self.body()
        if self.path.startswith("/__"):
            self.control()
        elif self.path.startswith("/latest/"):
            self.imds()
        elif self.path.startswith("/container/"):
            self.container()
        elif self.path.startswith("/sts"):
            self.sts(body)
        else:
            self.ses(body)

    do_GET = route
    do_PUT = route
    do_POST = route


# ---- "ses-milter doctor" fixtures (helper doctor; --doctor adds them) ------------------
# GetEmailIdentity answers for every VerificationInfo.ErrorType, verification, DKIM and
# MAIL FROM status that tests/doctor/doctor_table.sh checks against its nsd zones.
def _doctor_domain(tokens, dkim="SUCCESS", origin="AWS_SES", mail_from="bounce", mf_status="SUCCESS",
                   behavior="USE_DEFAULT_VALUE", status="SUCCESS", error=None, sending=True, domain=""):
    item = {"IdentityType": "DOMAIN", "VerifiedForSendingStatus": sending,
            "VerificationStatus": status,
            "DkimAttributes": {"SigningEnabled": True, "Status": dkim, "Tokens": tokens,
                               "SigningAttributesOrigin": origin,
                               "CurrentSigningKeyLength": "RSA_2048_BIT"},
            "MailFromAttributes": None}
    if mail_from:
        item["MailFromAttributes"] = {"MailFromDomain": "%s.%s" % (mail_from, domain),
                                      "MailFromDomainStatus": mf_status,
                                      "BehaviorOnMxFailure": behavior}
    if error is not None:
        item["VerificationInfo"] = {"ErrorType": error,
                                    "LastCheckedTimestamp": "2026-12-01T10:00:00Z"}
    return item


def doctor_identities():
    """The doctor's identities, by name (domains under .example, as the zones)."""
    d = {}

    def dom(name, tokens, **kw):
        d[name] = _doctor_domain(tokens, domain=name, **kw)
    dom("good.example", ["g1", "g2", "g3"])
    dom("dkimbad.example", ["t1", "t2", "t3"], dkim="FAILED", status="FAILED", error="HOST_NOT_FOUND",
        sending=False, mail_from=None)
    dom("dkimtype.example", ["u1", "u2", "u3"], dkim="FAILED", status="FAILED", error="TYPE_NOT_FOUND",
        sending=False, mail_from=None)
    dom("dkimcase.example", ["sel1"], origin="EXTERNAL", dkim="FAILED")
    dom("sub.par.example", ["p1", "p2", "p3"], dkim="PENDING", status="PENDING", mail_from=None)
    dom("rev.example", ["r1", "r2", "r3"], dkim="TEMPORARY_FAILURE", status="SUCCESS", mail_from=None)
    dom("mfcname.example", ["m1", "m2", "m3"], mf_status="FAILED", behavior="REJECT_MESSAGE")
    dom("mfparent.example", ["n1", "n2", "n3"], mf_status="PENDING")
    dom("mfsplit.example", ["s1", "s2", "s3"], mf_status="FAILED")
    dom("mfregion.example", ["w1", "w2", "w3"], mf_status="TEMPORARY_FAILURE", behavior="REJECT_MESSAGE")
    for p, t in (("spftwo", "a"), ("spfquoted", "b"), ("spfsplit", "d"), ("spflimit", "e"),
                 ("spfvoid", "f"), ("nodmarc", "h"), ("dmarcus", "i"), ("dmarctwice", "j"),
                 ("dmarccase", "k"), ("dmarcquoted", "l"), ("dmarcnone", "o"),
                 ("dmarcstrict", "q"), ("dmarctwo", "y")):
        dom(p + ".example", [t + "1", t + "2", t + "3"])
    dom("byo.example", ["sel1"], origin="EXTERNAL")
    dom("byoquoted.example", ["sel1"], origin="EXTERNAL", dkim="FAILED")
    dom("byosplit.example", ["sel1"], origin="EXTERNAL", dkim="FAILED")
    for name, status, error in (("vf-dns", "FAILED", "DNS_SERVER_ERROR"),
                                ("vf-host", "FAILED", "HOST_NOT_FOUND"),
                                ("vf-type", "FAILED", "TYPE_NOT_FOUND"),
                                ("vf-value", "FAILED", "INVALID_VALUE"),
                                ("vf-service", "TEMPORARY_FAILURE", "SERVICE_ERROR"),
                                ("vf-pending", "PENDING", None),
                                ("vf-legacy", "PENDING", None),
                                ("vf-notstarted", "NOT_STARTED", None)):
        dom(name + ".example", ["v1", "v2", "v3"], dkim=status, status=status, error=error,
            sending=False, mail_from=None)
    dom("vf-paused.example", ["v1", "v2", "v3"], sending=False, mail_from=None)
    d["alice@addronly.example"] = {"IdentityType": "EMAIL_ADDRESS", "VerifiedForSendingStatus": True,
                                   "VerificationStatus": "SUCCESS",
                                   "DkimAttributes": {"SigningEnabled": False, "Status": "NOT_STARTED"}}
    return d
# ---- end of the doctor's fixtures --------------------------------------------------------


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a burst of new connections must not see SYN drops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixture")
    ap.add_argument("--port-file")
    ap.add_argument("--doctor", action="store_true", help="add the doctor's identities")
    ap.add_argument("--doctor-count", action="store_true",
                    help="print how many identities --doctor adds and exit")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    if a.doctor_count:
        print(len(doctor_identities()))
        return 0
    if not a.fixture or not a.port_file:
        ap.error("--fixture and --port-file are required")
    with open(a.fixture) as f:
        FIX.update(json.load(f))
    if a.doctor:
        FIX.setdefault("identities", {}).update(doctor_identities())
    for c in FIX.get("credentials", []):
        KEYS[c["access_key_id"]] = (c["secret_access_key"], c.get("session_token"), None)
        if c.get("account"):
            ACCOUNTS[c["access_key_id"]] = c["account"]
    srv = Server(("127.0.0.1", 0), Handler)
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
