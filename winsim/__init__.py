"""winsim: a simulated Windows fleet reached over a real WinRM (WS-Management) endpoint.

It exists so the collection's controller logic, transport handling and idempotence can be
tested without Windows. It does not prove that the PowerShell agent works on Windows.
"""
