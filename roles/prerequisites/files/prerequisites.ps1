# m365ops.activation prerequisites probe 1: read-only; runs on PowerShell 2.0 and later and needs no module, so it
# answers on hosts where Ansible runs no module. One JSON object out; the registry is read through .NET (no
# localized text is read or printed).
$machine = [Microsoft.Win32.Registry]::LocalMachine

Function Read-Value {
    param([string]$Path, [string]$Name)
    $key = $machine.OpenSubKey($Path)
    if ($null -eq $key) {
        return 'null'
    }
    $value = $key.GetValue($Name)
    $key.Close()
    if ($null -eq $value) {
        return 'null'
    }
    if ($value -is [int]) {
        return [string]([int64]$value -band 0xFFFFFFFF)
    }
    return '"' + ([string]$value).Replace('\', '\\').Replace('"', '\"') + '"'
}

$schannel = 'SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client'
$winhttp = 'SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp'
$winhttp32 = 'SOFTWARE\Wow6432Node\Microsoft\Windows\CurrentVersion\Internet Settings\WinHttp'
$current = 'SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$fields = @(
    '"probe":1',
    ('"powershell":"' + $PSVersionTable.PSVersion.ToString() + '"'),
    ('"architecture":' + (Read-Value 'SYSTEM\CurrentControlSet\Control\Session Manager\Environment' 'PROCESSOR_ARCHITECTURE')),
    ('"dotnet4_release":' + (Read-Value 'SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full' 'Release')),
    ('"os_version":' + (Read-Value $current 'CurrentVersion')),
    ('"os_build":' + (Read-Value $current 'CurrentBuildNumber')),
    ('"schannel_tls12_client_enabled":' + (Read-Value $schannel 'Enabled')),
    ('"schannel_tls12_client_disabled_by_default":' + (Read-Value $schannel 'DisabledByDefault')),
    ('"winhttp_default_secure_protocols":' + (Read-Value $winhttp 'DefaultSecureProtocols')),
    ('"winhttp_default_secure_protocols_32":' + (Read-Value $winhttp32 'DefaultSecureProtocols'))
)
'{' + ($fields -join ',') + '}'
