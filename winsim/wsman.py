"""A WS-Management (WinRM) endpoint over plain HTTP with Basic auth, one per simulated host.

Implements the WinRS shell operations that pywinrm and ansible-core's winrm connection use:
Create (shell), Command, Send (stdin, possibly in chunks, ``End="true"`` last), Receive
(stdout/stderr as base64 ``Stream`` elements, ``CommandState .../Done`` with ``ExitCode``),
Signal and Delete. A Receive that outlasts the request's OperationTimeout answers with the
WSManFault 2150858793 that clients retry, as Windows does.
"""
from __future__ import annotations

import base64
import binascii
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

from winsim.agent import AnswerLost
from winsim.execution import CommandResult, run_command
from winsim.host import SimHost

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "w": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "rsp": "http://schemas.microsoft.com/wbem/wsman/1/windows/shell",
    "x": "http://schemas.xmlsoap.org/ws/2004/09/transfer",
}
SHELL_URI = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell"
ACTION_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
ACTION_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"
ACTION_COMMAND = f"{SHELL_URI}/Command"
ACTION_SEND = f"{SHELL_URI}/Send"
ACTION_RECEIVE = f"{SHELL_URI}/Receive"
ACTION_SIGNAL = f"{SHELL_URI}/Signal"
FAULT_TIMED_OUT = 2150858793
FAULT_UNKNOWN_SHELL = 2150858843
RECEIVE_CHUNK = 128 * 1024


@dataclass
class Command:
    command_line: str
    arguments: str
    stdin: bytearray = field(default_factory=bytearray)
    stdin_closed: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    result: CommandResult | None = None
    stdout_sent: int = 0
    stderr_sent: int = 0
    started: bool = False


@dataclass
class Shell:
    commands: dict[str, Command] = field(default_factory=dict)


class ConnectionDropped(Exception):
    """The connection closes without a reply, as when the network or the host goes away mid-request."""


class SoapFault(Exception):
    def __init__(self, code: int, subcode: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.subcode = subcode
        self.reason = reason


def _envelope(action: str, relates_to: str, body: str) -> bytes:
    header = (f"<a:Action>{action}</a:Action><a:MessageID>uuid:{uuid.uuid4()}</a:MessageID>"
              f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
              "<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>")
    namespaces = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())
    return (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope {namespaces}><s:Header>{header}</s:Header>'
            f"<s:Body>{body}</s:Body></s:Envelope>").encode("utf-8")


def _fault_body(fault: SoapFault, machine: str) -> str:
    return (f"<s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:{fault.subcode}</s:Value></s:Subcode></s:Code>"
            f'<s:Reason><s:Text xml:lang="en-US">{escape(fault.reason)}</s:Text></s:Reason><s:Detail>'
            f'<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{fault.code}" Machine="{machine}">'
            f"<f:Message>{escape(fault.reason)}</f:Message></f:WSManFault></s:Detail></s:Fault>")


def _duration_seconds(text: str | None, default: float) -> float:
    """Parse the ``PT20.000S`` form of xs:duration that WinRM clients send."""
    if not text or not text.startswith("PT") or not text.endswith("S"):
        return default
    try:
        return float(text[2:-1])
    except ValueError:
        return default


class WSManEndpoint:
    """The WinRS state of one host: its shells and their commands."""

    def __init__(self, host: SimHost, address: str) -> None:
        self.host = host
        self.address = address
        self.shells: dict[str, Shell] = {}
        self.lock = threading.Lock()

    def _shell(self, root: ET.Element) -> Shell:
        selector = root.find("s:Header/w:SelectorSet/w:Selector[@Name='ShellId']", NS)
        shell_id = selector.text if selector is not None else None
        with self.lock:
            shell = self.shells.get(shell_id or "")
        if shell is None:
            raise SoapFault(FAULT_UNKNOWN_SHELL, "InvalidSelectors", f"The shell {shell_id} was not found.")
        return shell

    @staticmethod
    def _command(shell: Shell, command_id: str | None) -> Command:
        command = shell.commands.get(command_id or "")
        if command is None:
            raise SoapFault(FAULT_UNKNOWN_SHELL, "InvalidSelectors", f"The command {command_id} was not found.")
        return command

    def handle(self, root: ET.Element) -> tuple[str, str]:
        """Return (response action, response body) for a parsed SOAP request."""
        action = (root.findtext("s:Header/a:Action", default="", namespaces=NS) or "").strip()
        if action == ACTION_CREATE:
            return self._create()
        if action == ACTION_DELETE:
            shell_id = root.findtext("s:Header/w:SelectorSet/w:Selector[@Name='ShellId']", default="", namespaces=NS)
            with self.lock:
                self.shells.pop(shell_id, None)
            return f"{ACTION_DELETE}Response", ""
        shell = self._shell(root)
        if action == ACTION_COMMAND:
            return self._start_command(shell, root)
        if action == ACTION_SEND:
            return self._send(shell, root)
        if action == ACTION_RECEIVE:
            timeout = _duration_seconds(root.findtext("s:Header/w:OperationTimeout", namespaces=NS), 20.0)
            return self._receive(shell, root, timeout)
        if action == ACTION_SIGNAL:
            signal = root.find("s:Body/rsp:Signal", NS)
            shell.commands.pop(signal.get("CommandId") if signal is not None else "", None)
            return f"{ACTION_SIGNAL}Response", "<rsp:SignalResponse/>"
        raise SoapFault(2150858771, "ActionNotSupported", f"The action {action} is not supported by this endpoint.")

    def _create(self) -> tuple[str, str]:
        shell_id = str(uuid.uuid4()).upper()
        with self.lock:
            self.shells[shell_id] = Shell()
        self.host.counters["shells_opened"] += 1
        body = (f"<x:ResourceCreated><a:Address>{escape(self.address)}</a:Address><a:ReferenceParameters>"
                f"<w:ResourceURI>{SHELL_URI}/cmd</w:ResourceURI><w:SelectorSet>"
                f'<w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet></a:ReferenceParameters>'
                f"</x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell_id}</rsp:ShellId>"
                "<rsp:ResourceUri>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</rsp:ResourceUri>"
                "<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>")
        return f"{ACTION_CREATE}Response", body

    def _start_command(self, shell: Shell, root: ET.Element) -> tuple[str, str]:
        line = root.find("s:Body/rsp:CommandLine", NS)
        if line is None:
            raise SoapFault(2150858754, "SchemaValidationError", "CommandLine is missing.")
        command_id = str(uuid.uuid4()).upper()
        shell.commands[command_id] = Command(
            command_line=(line.findtext("rsp:Command", default="", namespaces=NS) or "").strip(),
            arguments=(line.findtext("rsp:Arguments", default="", namespaces=NS) or "").strip(),
        )
        self.host.counters["commands"] += 1
        return f"{ACTION_COMMAND}Response", f"<rsp:CommandResponse><rsp:CommandId>{command_id}</rsp:CommandId></rsp:CommandResponse>"

    def _send(self, shell: Shell, root: ET.Element) -> tuple[str, str]:
        stream = root.find("s:Body/rsp:Send/rsp:Stream", NS)
        if stream is None:
            raise SoapFault(2150858754, "SchemaValidationError", "Send has no Stream.")
        command = self._command(shell, stream.get("CommandId"))
        if command.stdin_closed:
            raise SoapFault(2150859247, "InvalidParameter", "The input stream is already closed.")
        try:
            command.stdin += base64.b64decode((stream.text or "").encode("ascii"))
        except binascii.Error as exc:
            raise SoapFault(2150858754, "SchemaValidationError", f"stdin is not base64: {exc}") from exc
        if (stream.get("End") or "").lower() == "true":
            command.stdin_closed = True
        return f"{ACTION_SEND}Response", "<rsp:SendResponse/>"

    def _execute(self, command: Command) -> None:
        try:
            command.result = run_command(self.host, command.command_line, command.arguments, bytes(command.stdin))
        except AnswerLost:
            command.result = CommandResult(rc=-1, lost=True)
        except Exception as exc:  # pylint: disable=broad-except  # a simulator bug must surface as a failed command
            command.result = CommandResult(rc=1, stderr=f"winsim internal error: {exc!r}\r\n".encode())
        command.done.set()

    def _receive(self, shell: Shell, root: ET.Element, timeout: float) -> tuple[str, str]:
        desired = root.find("s:Body/rsp:Receive/rsp:DesiredStream", NS)
        command_id = desired.get("CommandId") if desired is not None else None
        command = self._command(shell, command_id)
        if not command.started:
            command.started = True
            threading.Thread(target=self._execute, args=(command,), daemon=True).start()
        if not command.done.wait(timeout):
            self.host.counters["receive_timeouts"] += 1
            raise SoapFault(FAULT_TIMED_OUT, "TimedOut",
                            "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.")
        result = command.result
        assert result is not None
        if result.lost:
            raise ConnectionDropped()
        out = result.stdout[command.stdout_sent: command.stdout_sent + RECEIVE_CHUNK]
        err = result.stderr[command.stderr_sent: command.stderr_sent + RECEIVE_CHUNK]
        command.stdout_sent += len(out)
        command.stderr_sent += len(err)
        finished = command.stdout_sent >= len(result.stdout) and command.stderr_sent >= len(result.stderr)
        streams = "".join(
            f'<rsp:Stream Name="{name}" CommandId="{command_id}">{base64.b64encode(data).decode()}</rsp:Stream>'
            for name, data in (("stdout", out), ("stderr", err)) if data)
        if finished:
            streams += (f'<rsp:Stream Name="stdout" CommandId="{command_id}" End="true"/>'
                        f'<rsp:Stream Name="stderr" CommandId="{command_id}" End="true"/>'
                        f'<rsp:CommandState CommandId="{command_id}" State="{SHELL_URI}/CommandState/Done">'
                        f"<rsp:ExitCode>{result.rc}</rsp:ExitCode></rsp:CommandState>")
        else:
            streams += f'<rsp:CommandState CommandId="{command_id}" State="{SHELL_URI}/CommandState/Running"/>'
        return f"{ACTION_RECEIVE}Response", f"<rsp:ReceiveResponse>{streams}</rsp:ReceiveResponse>"


class _Handler(BaseHTTPRequestHandler):
    server: "WinRMServer"
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; without this each request waits ~40 ms on delayed ACK.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        """Quiet: counters and state files are the record."""

    def _reply(self, status: int, body: bytes, received: int, headers: dict[str, str] | None = None, flush: bool = True) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "application/soap+xml;charset=UTF-8")
        self.end_headers()
        self.wfile.write(body)
        self.server.host.count_request(received, len(body), flush)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return False
        try:
            username, password = base64.b64decode(header[6:].strip()).decode("utf-8").partition(":")[::2]
        except (binascii.Error, UnicodeDecodeError):
            return False
        return self.server.host.credentials_match(username, password)

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length)
        if self.path.rstrip("/").lower() != "/wsman":
            self._reply(404, b"", length)
            return
        if not self._authorized():
            self.server.host.counters["auth_failures"] += 1
            self._reply(401, b"", length, {"WWW-Authenticate": 'Basic realm="WSMAN"'})
            return
        endpoint = self.server.endpoint
        relates_to = ""
        try:
            root = ET.fromstring(payload)
            relates_to = root.findtext("s:Header/a:MessageID", default="", namespaces=NS) or ""
            action, body = endpoint.handle(root)
            # The counters file is rewritten when a command finishes or a shell closes, not on every request.
            settled = action == f"{ACTION_DELETE}Response" or "CommandState/Done" in body
            self._reply(200, _envelope(action, relates_to, body), length, flush=settled)
        except ConnectionDropped:
            self.close_connection = True
        except ET.ParseError:
            self._reply(400, b"", length)
        except SoapFault as fault:
            fault_action = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault"
            self._reply(500, _envelope(fault_action, relates_to, _fault_body(fault, endpoint.host.name)), length)


class WinRMServer(ThreadingHTTPServer):
    """The HTTP listener of one simulated host."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: SimHost, bind: tuple[str, int]) -> None:
        super().__init__(bind, _Handler)
        self.host = host
        self.endpoint = WSManEndpoint(host, f"http://{bind[0]}:{self.server_address[1]}/wsman")

    @property
    def port(self) -> int:
        return int(self.server_address[1])
