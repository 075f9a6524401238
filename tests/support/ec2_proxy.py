"""A proxy in front of moto's EC2 that plays what moto cannot.

moto never runs user-data, never powers an instance off, answers a fixed console text, makes
every copy available at once, and does not implement GetImageBlockPublicAccessState. This proxy
forwards everything to moto and, per the scenario posted to /__control/scenario:

- plays the builder: reads the run ID from the RunInstances user-data, stops the instance after
  `builder.stop_after_s` (never when null), and serves a console with the wrapper's result marker
  (`builder.exit`, or no marker with `builder.marker: false`);
- keeps copies `pending` for `copy_delay_s` seconds after CopyImage, and reports copies in
  `fail_copy_regions` as `failed`;
- answers `RequestLimitExceeded` to the first N calls of an action in a region (`throttle`);
- answers GetImageBlockPublicAccessState (`block_public_access`: regions where it is on);
- answers DescribeRegions with `enabled_regions` when given (moto lists every partition);
- counts calls per action and region (GET /__control/stats).

Usage: ec2_proxy.py LISTEN_PORT MOTO_URL
"""

import base64
import gzip
import json
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

LOCK = threading.Lock()
STATE = {
    "scenario": {},
    "builders": {},  # instance id -> {"run_id", "region"}
    "copies": {},  # image id -> {"region", "created"}
    "calls": {},  # "Action region" -> count
    "throttled": {},  # "Action region" -> count answered with RequestLimitExceeded
    "imds": {},  # image id -> ImdsSupport value set through ModifyImageAttribute
}


def region_of(headers):
    match = re.search(r"Credential=[^/]+/[0-9]+/([a-z0-9-]+)/ec2/", headers.get("Authorization", ""))
    return match.group(1) if match else "us-east-1"


def moto_request(moto, region, params):
    body = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(moto + "/", data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0",
    )
    with urllib.request.urlopen(request) as response:
        return response.read()


def run_id_from_user_data(encoded):
    try:
        data = base64.b64decode(encoded)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        match = re.search(rb"MARKETPLACE-RELEASE-RESULT run=([A-Za-z0-9_-]+) ", data)
        return match.group(1).decode() if match else None
    except Exception:  # noqa: BLE001 - any undecodable user-data simply has no run ID
        return None


def xml_error(code, message):
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
        f"<Message>{message}</Message></Error></Errors><RequestID>proxy</RequestID></Response>"
    ).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    moto = ""

    def log_message(self, *args):  # keep test output quiet
        pass

    def reply(self, status, body, content_type="text/xml"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/__control/stats":
            with LOCK:
                body = json.dumps({key: STATE[key] for key in ("calls", "throttled", "builders", "imds")}).encode()
            return self.reply(200, body, "application/json")
        return self.reply(404, b"")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path == "/__control/scenario":
            with LOCK:
                STATE["scenario"] = json.loads(raw or b"{}")
            return self.reply(200, b"{}", "application/json")
        params = dict(urllib.parse.parse_qsl(raw.decode()))
        action = params.get("Action", "")
        region = region_of(self.headers)
        key = f"{action} {region}"
        with LOCK:
            scenario = STATE["scenario"]
            STATE["calls"][key] = STATE["calls"].get(key, 0) + 1
            throttle = scenario.get("throttle", {}).get(region, {}).get(action, 0)
            if STATE["throttled"].get(key, 0) < throttle:
                STATE["throttled"][key] = STATE["throttled"].get(key, 0) + 1
                return self.reply(503, xml_error("RequestLimitExceeded", "Request limit exceeded."))
        if action == "ModifyImageAttribute" and "ImdsSupport.Value" in params:
            # moto accepts ImdsSupport but cannot report it back: remember it for the tests.
            with LOCK:
                STATE["imds"][params.get("ImageId", "")] = params["ImdsSupport.Value"]
        if action == "DescribeRegions" and "enabled_regions" in scenario:
            items = "".join(
                f"<item><regionName>{r}</regionName><regionEndpoint>ec2.{r}.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>"
                for r in scenario["enabled_regions"]
            )
            body = f'<DescribeRegionsResponse xmlns="{EC2_NS}"><requestId>proxy</requestId><regionInfo>{items}</regionInfo></DescribeRegionsResponse>'.encode()
            return self.reply(200, body)
        if action == "GetImageBlockPublicAccessState":
            blocked = region in scenario.get("block_public_access", [])
            state = "block-new-sharing" if blocked else "unblocked"
            body = (
                f'<GetImageBlockPublicAccessStateResponse xmlns="{EC2_NS}"><requestId>proxy</requestId>'
                f"<imageBlockPublicAccessState>{state}</imageBlockPublicAccessState></GetImageBlockPublicAccessStateResponse>"
            ).encode()
            return self.reply(200, body)
        if action == "GetConsoleOutput" and params.get("InstanceId") in STATE["builders"]:
            return self.console(params["InstanceId"], scenario.get("builder", {}))

        status, headers, body = self.forward(raw)
        if status == 200 and action == "RunInstances":
            self.after_run_instances(params, region, body, scenario.get("builder", {}))
        elif status == 200 and action == "CopyImage":
            match = re.search(rb"<imageId>(ami-[0-9a-f]+)</imageId>", body)
            if match:
                with LOCK:
                    STATE["copies"][match.group(1).decode()] = {"region": region, "created": time.time()}
        elif status == 200 and action == "DescribeImages":
            body = self.rewrite_images(body, region, scenario)
            body = ingestion_attributes(body, scenario)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, raw):
        request = urllib.request.Request(self.moto + self.path, data=raw, method="POST")
        for name, value in self.headers.items():
            if name.lower() not in ("host", "content-length", "connection"):
                request.add_header(name, value)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.getheaders(), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.items(), error.read()

    def after_run_instances(self, params, region, body, builder):
        run_id = run_id_from_user_data(params.get("UserData", ""))
        match = re.search(rb"<instanceId>(i-[0-9a-f]+)</instanceId>", body)
        if not (run_id and match):
            return
        instance = match.group(1).decode()
        with LOCK:
            STATE["builders"][instance] = {"run_id": run_id, "region": region}
        stop_after = builder.get("stop_after_s", 0.3)
        if stop_after is not None:
            timer = threading.Timer(stop_after, moto_request, (self.moto, region, {"Action": "StopInstances", "InstanceId.1": instance, "Version": "2016-11-15"}))
            timer.daemon = True
            timer.start()

    def console(self, instance, builder):
        run_id = STATE["builders"][instance]["run_id"]
        lines = ["[    0.000000] Linux version 6.1 (builder)", "cloud-init: running user-data"]
        lines += builder.get("log", ["marketplace-release: running the build script", "installing the product"])
        if builder.get("marker", True):
            code = builder.get("exit", 0)
            status = "success" if code == 0 else "failed"
            lines.append(f"MARKETPLACE-RELEASE-RESULT run={run_id} status={status} exit={code}")
        output = base64.b64encode(("\n".join(lines) + "\n").encode()).decode()
        body = (
            f'<GetConsoleOutputResponse xmlns="{EC2_NS}"><requestId>proxy</requestId><instanceId>{instance}</instanceId>'
            f"<timestamp>2026-01-01T00:00:00.000Z</timestamp><output>{output}</output></GetConsoleOutputResponse>"
        ).encode()
        self.reply(200, body)

    def rewrite_images(self, body, region, scenario):
        delay = scenario.get("copy_delay_s", 0)
        failing = scenario.get("fail_copy_regions", [])
        with LOCK:
            copies = dict(STATE["copies"])
        if not copies:
            return body
        root = ET.fromstring(body)
        # Use the response's own namespace (moto's has no trailing slash).
        uri = root.tag[1 : root.tag.index("}")] if root.tag.startswith("{") else ""
        ET.register_namespace("", uri)
        ns = f"{{{uri}}}" if uri else ""
        changed = False
        for item in root.iter(f"{ns}item"):
            image_id = item.find(f"{ns}imageId")
            state = item.find(f"{ns}imageState")
            if image_id is None or state is None or image_id.text not in copies:
                continue
            if region in failing:
                state.text = "failed"
                reason = ET.SubElement(item, f"{ns}stateReason")
                ET.SubElement(reason, f"{ns}code").text = "Client.InternalError"
                ET.SubElement(reason, f"{ns}message").text = "Copy failed: snapshot could not be copied"
                changed = True
            elif state.text == "available" and time.time() - copies[image_id.text]["created"] < delay:
                state.text = "pending"
                changed = True
        return ET.tostring(root, encoding="utf-8", xml_declaration=True) if changed else body


def ingestion_attributes(body, scenario):
    """Fills in what moto leaves out of DescribeImages for images the account made (issue 15's
    ingestion preflight reads them), as EC2 reports them (EC2 API reference, DescribeImages,
    "Image"): CreateImage makes an EBS-backed image ("Creates an Amazon EBS-backed AMI", EC2
    API reference, CreateImage), so `rootDeviceType` is `ebs` (moto says `standard`); the
    builder is a t3 instance, whose images have `enaSupport` true; `imdsSupport` is what
    ModifyImageAttribute set (moto drops it); each EBS mapping says whether it is `encrypted`.
    The scenario's `image` can break them: {"encrypted": true, "product_codes": [..],
    "ena": false}."""
    if b"<imagesSet>" not in body:
        return body
    image = scenario.get("image", {})
    root = ET.fromstring(body)
    uri = root.tag[1 : root.tag.index("}")] if root.tag.startswith("{") else ""
    ET.register_namespace("", uri)
    ns = f"{{{uri}}}" if uri else ""
    with LOCK:
        imds = dict(STATE["imds"])
    for item in root.iter(f"{ns}item"):
        image_id, owner = item.find(f"{ns}imageId"), item.find(f"{ns}imageOwnerId")
        if image_id is None or owner is None or owner.text != "123456789012":
            continue
        def put(name, text):
            element = item.find(f"{ns}{name}")
            if element is None:
                element = ET.SubElement(item, f"{ns}{name}")
            element.text = text
        put("rootDeviceType", "ebs")
        put("enaSupport", "false" if image.get("ena") is False else "true")
        if image_id.text in imds:
            put("imdsSupport", imds[image_id.text])
        for ebs in item.iter(f"{ns}ebs"):
            encrypted = ebs.find(f"{ns}encrypted")
            if encrypted is None:
                encrypted = ET.SubElement(ebs, f"{ns}encrypted")
            encrypted.text = "true" if image.get("encrypted") else "false"
        codes = image.get("product_codes", [])
        if codes:
            product_codes = item.find(f"{ns}productCodes")
            if product_codes is None:
                product_codes = ET.SubElement(item, f"{ns}productCodes")
            for code in codes:
                entry = ET.SubElement(product_codes, f"{ns}item")
                ET.SubElement(entry, f"{ns}productCode").text = code
                ET.SubElement(entry, f"{ns}type").text = "marketplace"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def main():
    port, moto = int(sys.argv[1]), sys.argv[2].rstrip("/")
    Handler.moto = moto
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"ec2 proxy on 127.0.0.1:{port} -> {moto}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
