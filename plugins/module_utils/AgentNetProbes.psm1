# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

<#
.SYNOPSIS
The network probes (extended entry point only).

.DESCRIPTION
TLS handshakes and HTTP requests made from the host through NetProbe.cs, directly or through a proxy; only
win_agent_extended ships them. No policy here: ops in, one result per op out; no localized text is parsed for meaning.

.NOTES
Requires NetProbe.cs (the entry point loads it).
#>
#AnsibleRequires -PowerShell ..module_utils.AgentDispatch

Function Get-OpProxy {
    # Where a probe goes: 'default' (the WinHTTP default proxy), 'direct', or a proxy server as host:port.
    param([System.Collections.IDictionary]$Op, [string]$Default)
    $proxy = Get-OpArg -Op $Op -Name 'proxy' -Optional
    if ($null -eq $proxy) {
        return $Default
    }
    $proxy = [string]$proxy
    # Host names of Active Directory DNS may carry '_' (G15); \z, not $, so a trailing newline is refused too.
    if ($proxy -ne 'default' -and $proxy -ne 'direct' -and $proxy -cnotmatch '^[A-Za-z0-9._\-\[\]:]+:[0-9]{1,5}\z') {
        throw (New-AgentError -Class 'invalid_argument' -Message "proxy must be 'default', 'direct' or host:port")
    }
    return $proxy
}

Function Invoke-TlsHandshake {
    # A TLS 1.2 handshake (SChannel) with each host and port, all at once and bounded by timeout_ms together,
    # directly or through a proxy's CONNECT tunnel; returns the certificate chain the host built and its status flags.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $timeout = Get-OpTimeout -Op $Op
    $proxy = Get-OpProxy -Op $Op -Default 'direct'
    if ($proxy -eq 'default') {
        throw (New-AgentError -Class 'invalid_argument' -Message "tls_handshake takes 'direct' or a proxy server as host:port")
    }
    $hosts = New-Object -TypeName System.Collections.Generic.List[string]
    $ports = New-Object -TypeName System.Collections.Generic.List[int]
    foreach ($target in @(Get-OpArg $Op 'targets')) {
        $hosts.Add([string](Get-OpArg $target 'host'))
        $ports.Add([int](Get-OpArg $target 'port'))
    }
    $through = $null
    if ($proxy -ne 'direct') {
        $through = $proxy
    }
    $answers = [ansible_collections.m365ops.activation.plugins.module_utils.NetProbe.Tls]::Handshake($hosts.ToArray(), $ports.ToArray(), $through, $timeout)
    return @{ targets = @($answers) }
}

Function Invoke-HttpRequest {
    # A GET of each URL through WinHTTP with the given user agent and proxy, all at once and bounded by timeout_ms
    # together; returns each HTTP status code, or the ERROR_WINHTTP_* number of the failure. Redirects are not followed.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $timeout = Get-OpTimeout -Op $Op
    $proxy = Get-OpProxy -Op $Op -Default 'default'
    $agent = [string](Get-OpArg $Op 'user_agent')
    $urls = @(Get-OpArg $Op 'urls' | ForEach-Object { [string]$_ })
    $answers = [ansible_collections.m365ops.activation.plugins.module_utils.NetProbe.Http]::Get($urls, $agent, $proxy, $timeout)
    return @{ proxy = $proxy; user_agent = $agent; requests = @($answers) }
}

Function Get-AgentNetProbesOps {
    # This family's ops by name, for Invoke-AgentOps: each handler takes -Op (the op's arguments) and -Apply.
    return @{
        http_request = ${function:Invoke-HttpRequest}
        tls_handshake = ${function:Invoke-TlsHandshake}
    }
}

Export-ModuleMember -Function @('Get-AgentNetProbesOps')
