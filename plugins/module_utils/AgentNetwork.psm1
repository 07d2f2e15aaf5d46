# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

<#
.SYNOPSIS
The network family of ops.

.DESCRIPTION
Network adapters and their IPv6 bindings, connection profiles, the management connection's addresses, the WinHTTP
default proxy (read and written through WinHttpProxy.cs), name resolution and TCP connections. No policy here: ops in,
one result per op out; no localized text is parsed for meaning.
#>
#AnsibleRequires -PowerShell ..module_utils.AgentDispatch

Function Test-NetAdapterModule {
    return $null -ne (Get-Command -Name Get-NetAdapterBinding -ErrorAction SilentlyContinue)
}

Function Invoke-ConnectionProfiles {
    # The connectivity Windows currently reports per connected network (what NCSI concluded), as numbers:
    # NetConnectionProfile IPv4Connectivity / IPv6Connectivity (0 disconnected, 1 no traffic, 2 subnet, 3 local network,
    # 4 internet) and NetworkCategory (0 public, 1 private, 2 domain). Windows 8 / 2012 and later.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    try {
        $found = @(Get-CimInstance -Namespace 'root/StandardCimv2' -ClassName MSFT_NetConnectionProfile -ErrorAction Stop)
    }
    catch {
        $cim = $_.Exception -as [Microsoft.Management.Infrastructure.CimException]
        if ($null -ne $cim -and @('InvalidNamespace', 'InvalidClass') -contains [string]$cim.NativeErrorCode) {
            return @{ supported = $false; profiles = @() }
        }
        throw
    }
    $profiles = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($item in $found) {
        $profiles.Add(@{
            interface_alias = [string]$item.InterfaceAlias
            if_index = [int]$item.InterfaceIndex
            ipv4_connectivity = [int]$item.IPv4Connectivity
            ipv6_connectivity = [int]$item.IPv6Connectivity
            network_category = [int]$item.NetworkCategory
        })
    }
    return @{ supported = $true; profiles = @($profiles) }
}

Function Invoke-AdapterList {
    # Adapters with their addresses and, on Windows 8 / 2012 and later, the ms_tcpip6 (IPv6) binding.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $supported = Test-NetAdapterModule
    $adapters = New-Object -TypeName System.Collections.Generic.List[object]
    if ($supported) {
        foreach ($adapter in @(Get-NetAdapter)) {
            # -Name takes wildcards: 'Ethernet [2]' must be escaped to match itself.
            $literal = [System.Management.Automation.WildcardPattern]::Escape([string]$adapter.Name)
            $binding = Get-NetAdapterBinding -Name $literal -ComponentID ms_tcpip6 -ErrorAction SilentlyContinue
            $bound = $null
            if ($null -ne $binding) {
                $bound = [bool]$binding.Enabled
            }
            $addresses = @(Get-NetIPAddress -InterfaceIndex $adapter.ifIndex -ErrorAction SilentlyContinue | ForEach-Object { $_.IPAddress })
            # Addresses an administrator configured (IPv4 and IPv6), as opposed to DHCP, router advertisements or link-local.
            $manual = @(Get-NetIPAddress -InterfaceIndex $adapter.ifIndex -PrefixOrigin Manual -ErrorAction SilentlyContinue | ForEach-Object { $_.IPAddress })
            $adapters.Add(@{
                name = $adapter.Name
                guid = [string]$adapter.InterfaceGuid
                if_index = [int]$adapter.ifIndex
                status = ([string]$adapter.Status).ToLowerInvariant()
                addresses = $addresses
                manual_addresses = $manual
                ipv6_bound = $bound
            })
        }
    }
    else {
        foreach ($config in @(Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter 'IPEnabled = TRUE')) {
            $adapter = Get-CimInstance -ClassName Win32_NetworkAdapter -Filter "Index = $($config.Index)"
            $adapters.Add(@{
                name = [string]$adapter.NetConnectionID
                guid = [string]$config.SettingID
                if_index = [int]$config.InterfaceIndex
                status = 'up'
                addresses = @($config.IPAddress)
                manual_addresses = $null
                ipv6_bound = $null
            })
        }
    }
    return @{ netadapter_supported = $supported; adapters = @($adapters) }
}

Function Invoke-ManagementAddresses {
    # Local addresses of established connections on the management ports (the connection's own port, WinRM's 5985/5986
    # by default): the adapters that carry management. Zone ids (fe80::1%12) are dropped, as adapters list addresses without.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    if ($null -eq (Get-Command -Name Get-NetTCPConnection -ErrorAction SilentlyContinue)) {
        return @{ supported = $false; addresses = @() }
    }
    $ports = @(5985, 5986)
    $given = Get-OpArg -Op $Op -Name 'ports' -Optional
    if ($null -ne $given) {
        $ports = @($given | ForEach-Object { [int]$_ })
    }
    $connections = @(Get-NetTCPConnection -State Established -ErrorAction SilentlyContinue | Where-Object { $ports -contains [int]$_.LocalPort })
    $addresses = @($connections | ForEach-Object { ([string]$_.LocalAddress).Split('%')[0] } | Sort-Object -Unique)
    return @{ supported = $true; addresses = $addresses; ports = $ports }
}

Function Invoke-AdapterBindingSet {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $name = [string](Get-OpArg $Op 'name')
    $enabled = Get-OpArg $Op 'enabled'
    if ($enabled -isnot [bool]) {
        throw (New-AgentError -Class 'invalid_argument' -Message "op 'adapter_binding_set' takes 'enabled' as true or false")
    }
    if ([string]$Op['component_id'] -ne 'ms_tcpip6') {
        throw (New-AgentError -Class 'invalid_argument' -Message "op 'adapter_binding_set' manages component_id 'ms_tcpip6' only")
    }
    if (-not (Test-NetAdapterModule)) {
        throw (New-AgentError -Class 'unsupported' -Message 'adapter bindings need the NetAdapter module (Windows 8 / Server 2012 and later)')
    }
    # By interface index when given (a name can change, and is localized), else by exact name.
    $index = Get-OpArg -Op $Op -Name 'if_index' -Optional
    if ($null -ne $index) {
        $adapter = Get-NetAdapter -InterfaceIndex ([int]$index) -ErrorAction SilentlyContinue
    }
    else {
        $adapter = @(Get-NetAdapter -ErrorAction SilentlyContinue | Where-Object { [string]::Equals($_.Name, $name, [StringComparison]::OrdinalIgnoreCase) }) | Select-Object -First 1
    }
    if ($null -eq $adapter) {
        throw (New-AgentError -Class 'not_found' -Message "no network adapter is named $name (interface index $index)")
    }
    $literal = [System.Management.Automation.WildcardPattern]::Escape([string]$adapter.Name)
    $binding = Get-NetAdapterBinding -Name $literal -ComponentID ms_tcpip6 -ErrorAction SilentlyContinue
    if ($null -eq $binding) {
        throw (New-AgentError -Class 'not_found' -Message "adapter $name has no ms_tcpip6 binding")
    }
    $before = [bool]$binding.Enabled
    $changed = $before -ne $enabled
    if ($changed -and $Apply) {
        if ($enabled) {
            Enable-NetAdapterBinding -InputObject $binding
        }
        else {
            Disable-NetAdapterBinding -InputObject $binding
        }
    }
    return @{ changed = $changed; before = $before; guid = [string]$adapter.InterfaceGuid }
}

Function Get-WinHttpProxy {
    $configuration = [ansible_collections.m365ops.activation.plugins.module_utils.WinHttpProxy.DefaultProxy]::Get()
    # WINHTTP_ACCESS_TYPE_NO_PROXY (1) and NAMED_PROXY (3) are what the default configuration holds; any other
    # number is returned as 'other' with the number, for the controller to refuse rather than take for direct.
    $access = 'other'
    if ($configuration.AccessType -eq 1) {
        $access = 'direct'
    }
    elseif ($configuration.AccessType -eq 3) {
        $access = 'named'
    }
    return @{ access_type = $access; access_type_code = [int]$configuration.AccessType; proxy = $configuration.Proxy; bypass = $configuration.Bypass }
}

Function Invoke-WinHttpProxyRead {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    return Get-WinHttpProxy
}

Function Invoke-WinHttpProxyWrite {
    # Writes exactly what the controller decided, through WinHttpSetDefaultProxyConfiguration, and reads it back.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $access = [string](Get-OpArg $Op 'access_type')
    $proxy = Get-OpArg -Op $Op -Name 'proxy' -Optional
    $bypass = Get-OpArg -Op $Op -Name 'bypass' -Optional
    if ($access -ne 'direct' -and $access -ne 'named') {
        throw (New-AgentError -Class 'invalid_argument' -Message "access_type must be 'direct' or 'named', not '$access'")
    }
    if ($access -eq 'named' -and -not $proxy) {
        throw (New-AgentError -Class 'invalid_argument' -Message "access_type 'named' needs 'proxy'")
    }
    if ($access -eq 'direct') {
        $proxy = $null
        $bypass = $null
    }
    $before = Get-WinHttpProxy
    $changed = $before.access_type -ne $access -or [string]$before.proxy -ne [string]$proxy -or [string]$before.bypass -ne [string]$bypass
    if (-not $changed -or -not $Apply) {
        return @{ changed = $changed; before = $before; after = @{ access_type = $access; proxy = $proxy; bypass = $bypass } }
    }
    $accessType = 1
    if ($access -eq 'named') {
        $accessType = 3
    }
    try {
        [ansible_collections.m365ops.activation.plugins.module_utils.WinHttpProxy.DefaultProxy]::Set($accessType, $proxy, $bypass)
    }
    catch {
        $code = 0
        if ($_.Exception.InnerException -is [System.ComponentModel.Win32Exception]) {
            $code = $_.Exception.InnerException.NativeErrorCode
        }
        $class = 'host_error'
        if ($code -eq 5) {
            $class = 'access_denied'
        }
        throw (New-AgentError -Class $class -Message "WinHttpSetDefaultProxyConfiguration failed (Win32 error $code)" -ErrorCode $code)
    }
    return @{ changed = $true; before = $before; after = (Get-WinHttpProxy) }
}

Function Get-SocketErrorName {
    # The SocketError enum name of a failure (HostNotFound, TimedOut, ConnectionRefused ...): never the localized message.
    param([System.Exception]$Exception)
    $current = $Exception
    while ($null -ne $current) {
        if ($current -is [System.Net.Sockets.SocketException]) {
            return [string]$current.SocketErrorCode
        }
        $current = $current.InnerException
    }
    return 'error'
}

Function Invoke-DnsResolve {
    # The addresses (A and AAAA) of each name and the canonical name its CNAME chain ends at, every name asked at once
    # and all of them bounded by timeout_ms together.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $timeout = Get-OpTimeout -Op $Op
    $started = [DateTime]::UtcNow
    $deadline = $started.AddMilliseconds($timeout)
    $pending = @{}
    $answers = @{}
    foreach ($name in @(Get-OpArg $Op 'names')) {
        try {
            $pending[[string]$name] = [System.Net.Dns]::BeginGetHostEntry([string]$name, $null, $null)
        }
        catch {
            $answers[[string]$name] = @{ ok = $false; addresses = @(); canonical_name = $null; error = Get-SocketErrorName -Exception $_.Exception; elapsed_ms = 0 }
        }
    }
    foreach ($name in @($pending.Keys)) {
        $async = $pending[$name]
        $left = [int][Math]::Max(0, ($deadline - [DateTime]::UtcNow).TotalMilliseconds)
        $entry = @{ ok = $false; addresses = @(); canonical_name = $null; error = 'TimedOut'; elapsed_ms = $null }
        if ($async.AsyncWaitHandle.WaitOne($left)) {
            try {
                $found = [System.Net.Dns]::EndGetHostEntry($async)
                $entry['ok'] = $true
                $entry['error'] = $null
                $entry['addresses'] = @($found.AddressList | ForEach-Object { $_.ToString() })
                $entry['canonical_name'] = [string]$found.HostName
            }
            catch {
                $entry['error'] = Get-SocketErrorName -Exception $_.Exception
            }
        }
        # When the answer was seen: an upper bound of how long the name took.
        $entry['elapsed_ms'] = [int]([DateTime]::UtcNow - $started).TotalMilliseconds
        $answers[$name] = $entry
    }
    return @{ names = $answers }
}

Function Invoke-TcpConnect {
    # A TCP connection to each host and port (IPv4), all at once and bounded by timeout_ms together; closed at once.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $timeout = Get-OpTimeout -Op $Op
    $started = [DateTime]::UtcNow
    $deadline = $started.AddMilliseconds($timeout)
    $attempts = New-Object -TypeName System.Collections.Generic.List[object]
    $results = New-Object -TypeName System.Collections.Generic.List[object]
    try {
        foreach ($target in @(Get-OpArg $Op 'targets')) {
            $hostName = [string](Get-OpArg $target 'host')
            $port = [int](Get-OpArg $target 'port')
            $client = New-Object -TypeName System.Net.Sockets.TcpClient
            $attempt = @{ host = $hostName; port = $port; client = $client; async = $null; error = $null }
            try {
                $attempt['async'] = $client.BeginConnect($hostName, $port, $null, $null)
            }
            catch {
                $attempt['error'] = Get-SocketErrorName -Exception $_.Exception
            }
            $attempts.Add($attempt)
        }
        foreach ($attempt in $attempts) {
            $entry = @{ host = $attempt['host']; port = $attempt['port']; ok = $false; error = $attempt['error']; elapsed_ms = 0 }
            if ($null -ne $attempt['async']) {
                $left = [int][Math]::Max(0, ($deadline - [DateTime]::UtcNow).TotalMilliseconds)
                $entry['error'] = 'TimedOut'
                if ($attempt['async'].AsyncWaitHandle.WaitOne($left)) {
                    try {
                        $attempt['client'].EndConnect($attempt['async'])
                        $entry['ok'] = $true
                        $entry['error'] = $null
                    }
                    catch {
                        $entry['error'] = Get-SocketErrorName -Exception $_.Exception
                    }
                }
                $entry['elapsed_ms'] = [int]([DateTime]::UtcNow - $started).TotalMilliseconds
            }
            $results.Add($entry)
        }
    }
    finally {
        foreach ($attempt in $attempts) {
            $attempt['client'].Close()
        }
    }
    return @{ targets = @($results) }
}

Function Get-AgentNetworkOps {
    # This family's ops by name, for Invoke-AgentOps: each handler takes -Op (the op's arguments) and -Apply.
    return @{
        adapter_binding_set = ${function:Invoke-AdapterBindingSet}
        adapter_list = ${function:Invoke-AdapterList}
        connection_profiles = ${function:Invoke-ConnectionProfiles}
        dns_resolve = ${function:Invoke-DnsResolve}
        management_addresses = ${function:Invoke-ManagementAddresses}
        tcp_connect = ${function:Invoke-TcpConnect}
        winhttp_proxy_read = ${function:Invoke-WinHttpProxyRead}
        winhttp_proxy_write = ${function:Invoke-WinHttpProxyWrite}
    }
}

Export-ModuleMember -Function @('Get-AgentNetworkOps')
