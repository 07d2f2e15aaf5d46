# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The agent's ops and their dispatcher, shared by its two entry points: win_agent (registry, services, programs,
# adapters, the WinHTTP proxy, files, system facts) and win_agent_extended, which also carries the network probes
# (NetProbe.cs) and the user-session script (UserSession.psm1). Ansible sends every module_util a module requires with
# each execution, so the everyday runs do not carry what only the diagnosis and the per-user steps use.
# No policy here: ops in, one result per op out; results never carry localized text parsed for meaning.

$ProtocolVersion = 1
$WriteOps = @('expect', 'user_hive_unload_recorded', 'registry_write', 'registry_delete_value', 'registry_delete_key', 'service_set_start_mode', 'service_start', 'service_stop', 'process_run', 'adapter_binding_set', 'winhttp_proxy_write', 'user_session_write', 'directory_remove')
# The hives user_hive_load loaded in this execution: user_hive_unload unloads only these.
$HivesLoaded = @{}
# sc.exe start= words for the protocol's start modes; sc.exe is judged by its exit code only.
$ScStartModes = @{ auto = 'auto'; delayed = 'delayed-auto'; manual = 'demand'; disabled = 'disabled' }
$Hives = @{
    HKLM = [Microsoft.Win32.RegistryHive]::LocalMachine
    HKCU = [Microsoft.Win32.RegistryHive]::CurrentUser
    HKU = [Microsoft.Win32.RegistryHive]::Users
    HKCR = [Microsoft.Win32.RegistryHive]::ClassesRoot
    HKCC = [Microsoft.Win32.RegistryHive]::CurrentConfig
}
$Kinds = @{
    string = [Microsoft.Win32.RegistryValueKind]::String
    expand_string = [Microsoft.Win32.RegistryValueKind]::ExpandString
    multi_string = [Microsoft.Win32.RegistryValueKind]::MultiString
    dword = [Microsoft.Win32.RegistryValueKind]::DWord
    qword = [Microsoft.Win32.RegistryValueKind]::QWord
    binary = [Microsoft.Win32.RegistryValueKind]::Binary
    none = [Microsoft.Win32.RegistryValueKind]::None
}

Function New-AgentError {
    # An exception that carries the protocol's error class (and an optional Win32 error code) in its Data.
    param([string]$Class, [string]$Message, [int]$ErrorCode = 0)
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    $exception.Data['AgentErrorClass'] = $Class
    if ($ErrorCode) {
        $exception.Data['Win32Error'] = $ErrorCode
    }
    return $exception
}

Function Get-OpArg {
    param([System.Collections.IDictionary]$Op, [string]$Name, [switch]$Optional)
    if ($Op.Contains($Name) -and $null -ne $Op[$Name]) {
        return $Op[$Name]
    }
    if ($Optional) {
        return $null
    }
    throw (New-AgentError -Class 'invalid_argument' -Message "op '$($Op['op'])' needs '$Name'")
}

Function Get-OpView {
    param([System.Collections.IDictionary]$Op)
    $view = Get-OpArg -Op $Op -Name 'view' -Optional
    if ($null -eq $view) {
        return '64'
    }
    return [string]$view
}

Function Open-RegistryKey {
    param([string]$Key, [string]$View, [bool]$Writable, [bool]$Create)
    $normalized = $Key.Replace('/', '\')
    $separator = $normalized.IndexOf('\')
    if ($separator -lt 0) {
        $hiveName = $normalized
        $subPath = ''
    }
    else {
        $hiveName = $normalized.Substring(0, $separator)
        $subPath = $normalized.Substring($separator + 1).Trim('\')
    }
    $hiveName = $hiveName.TrimEnd(':').ToUpperInvariant()
    if (-not $Hives.ContainsKey($hiveName)) {
        throw (New-AgentError -Class 'invalid_argument' -Message "unknown hive '$hiveName' in key '$Key'; use HKLM, HKCU, HKU, HKCR or HKCC")
    }
    if ($View -eq '32') {
        $registryView = [Microsoft.Win32.RegistryView]::Registry32
    }
    elseif ($View -eq '64') {
        $registryView = [Microsoft.Win32.RegistryView]::Registry64
    }
    else {
        throw (New-AgentError -Class 'invalid_argument' -Message "view must be '64' or '32', not '$View'")
    }
    try {
        $base = [Microsoft.Win32.RegistryKey]::OpenBaseKey($Hives[$hiveName], $registryView)
        if (-not $subPath) {
            return $base
        }
        if ($Create) {
            return $base.CreateSubKey($subPath)
        }
        return $base.OpenSubKey($subPath, $Writable)
    }
    catch [System.Security.SecurityException], [System.UnauthorizedAccessException] {
        throw (New-AgentError -Class 'access_denied' -Message "access is denied to $Key")
    }
}

Function Find-ValueName {
    # Registry value names are case-insensitive; return the stored spelling or $null.
    param([Microsoft.Win32.RegistryKey]$RegKey, [string]$Name)
    foreach ($candidate in $RegKey.GetValueNames()) {
        if ([string]::Equals($candidate, $Name, [StringComparison]::OrdinalIgnoreCase)) {
            return $candidate
        }
    }
    return $null
}

Function ConvertTo-AgentValue {
    param([Microsoft.Win32.RegistryKey]$RegKey, [string]$Name)
    $kind = $RegKey.GetValueKind($Name)
    $raw = $RegKey.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    if ($kind -eq [Microsoft.Win32.RegistryValueKind]::DWord) {
        return @{ type = 'dword'; value = [BitConverter]::ToUInt32([BitConverter]::GetBytes([Int32]$raw), 0) }
    }
    if ($kind -eq [Microsoft.Win32.RegistryValueKind]::QWord) {
        return @{ type = 'qword'; value = [BitConverter]::ToUInt64([BitConverter]::GetBytes([Int64]$raw), 0) }
    }
    if ($kind -eq [Microsoft.Win32.RegistryValueKind]::String) {
        return @{ type = 'string'; value = [string]$raw }
    }
    if ($kind -eq [Microsoft.Win32.RegistryValueKind]::ExpandString) {
        return @{ type = 'expand_string'; value = [string]$raw }
    }
    if ($kind -eq [Microsoft.Win32.RegistryValueKind]::MultiString) {
        return @{ type = 'multi_string'; value = @($raw) }
    }
    if ($kind -eq [Microsoft.Win32.RegistryValueKind]::Binary) {
        return @{ type = 'binary'; value = [Convert]::ToBase64String([byte[]]$raw) }
    }
    if ($kind -eq [Microsoft.Win32.RegistryValueKind]::None) {
        return @{ type = 'none'; value = $null }
    }
    # REG_RESOURCE_LIST, REG_DWORD_BIG_ENDIAN, REG_LINK and the like: raw bytes, so nothing is mistaken for REG_NONE.
    $bytes = [byte[]]@()
    if ($raw -is [byte[]]) {
        $bytes = $raw
    }
    return @{ type = 'unknown'; value = [Convert]::ToBase64String($bytes) }
}

Function ConvertFrom-AgentValue {
    # Returns the .NET object RegistryKey.SetValue needs for the protocol's type and value.
    param([string]$Type, $Value)
    if (-not $Kinds.ContainsKey($Type)) {
        throw (New-AgentError -Class 'invalid_argument' -Message "type must be one of $($Kinds.Keys -join ', '), not '$Type'")
    }
    $integerTypes = @('System.Int32', 'System.Int64', 'System.UInt32', 'System.UInt64', 'System.Decimal')
    if ($Type -eq 'dword' -or $Type -eq 'qword') {
        $limit = [UInt64]4294967295
        if ($Type -eq 'qword') {
            $limit = [UInt64]::MaxValue
        }
        if ($null -eq $Value -or $integerTypes -notcontains $Value.GetType().FullName -or $Value -lt 0 -or $Value -gt $limit) {
            throw (New-AgentError -Class 'invalid_argument' -Message "a $Type value must be an integer from 0 to $limit, not '$Value'")
        }
        if ($Type -eq 'dword') {
            return [BitConverter]::ToInt32([BitConverter]::GetBytes([UInt32]$Value), 0)
        }
        return [BitConverter]::ToInt64([BitConverter]::GetBytes([UInt64]$Value), 0)
    }
    if ($Type -eq 'string' -or $Type -eq 'expand_string') {
        if ($Value -isnot [string]) {
            throw (New-AgentError -Class 'invalid_argument' -Message "a $Type value must be a string, not '$Value'")
        }
        return $Value
    }
    if ($Type -eq 'multi_string') {
        if ($Value -isnot [System.Collections.IList]) {
            throw (New-AgentError -Class 'invalid_argument' -Message 'a multi_string value must be a list of strings')
        }
        foreach ($item in $Value) {
            if ($item -isnot [string]) {
                throw (New-AgentError -Class 'invalid_argument' -Message 'a multi_string value must be a list of strings')
            }
        }
        return [string[]]@($Value)
    }
    if ($Type -eq 'binary') {
        try {
            return [Convert]::FromBase64String([string]$Value)
        }
        catch {
            throw (New-AgentError -Class 'invalid_argument' -Message "a binary value must be base64 text: $($_.Exception.Message)")
        }
    }
    return [byte[]]@()
}

Function Invoke-RegistryRead {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $regKey = Open-RegistryKey -Key (Get-OpArg $Op 'key') -View (Get-OpView $Op) -Writable $false -Create $false
    $result = @{ exists = $null -ne $regKey; values = @{} }
    if ($null -eq $regKey) {
        # What a write below it would create: its record can then say, before the write, which key goes with it.
        $result.first_missing = Find-FirstMissingKey -Key (Get-OpArg $Op 'key') -View (Get-OpView $Op)
        return $result
    }
    try {
        $names = Get-OpArg -Op $Op -Name 'names' -Optional
        if ($null -eq $names) {
            $names = $regKey.GetValueNames()
        }
        foreach ($name in $names) {
            $stored = Find-ValueName -RegKey $regKey -Name $name
            if ($null -ne $stored) {
                $result.values[$name] = ConvertTo-AgentValue -RegKey $regKey -Name $stored
            }
        }
    }
    finally {
        $regKey.Dispose()
    }
    return $result
}

Function Invoke-Expect {
    # A guard in the write chain: it changes nothing and fails (precondition_failed) unless every fact it states holds now,
    # so the writes after it in the batch are skipped. boot_time: the host's boot time, as system_info says it; key, name
    # and value: a value's text (value null: the value is absent).
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $bootTime = Get-OpArg -Op $Op -Name 'boot_time' -Optional
    if ($null -ne $bootTime) {
        $os = Get-CimInstance -ClassName Win32_OperatingSystem
        $now = $os.LastBootUpTime.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
        if ($now -ne [string]$bootTime) {
            throw (New-AgentError -Class 'precondition_failed' -Message "the host started at $now, after it was read (boot time $bootTime)")
        }
    }
    if ($Op.Contains('key')) {
        $name = [string](Get-OpArg $Op 'name')
        $expected = $Op['value']
        $current = $null
        $regKey = Open-RegistryKey -Key (Get-OpArg $Op 'key') -View (Get-OpView $Op) -Writable $false -Create $false
        if ($null -ne $regKey) {
            try {
                $stored = Find-ValueName -RegKey $regKey -Name $name
                if ($null -ne $stored) {
                    $current = [string]$regKey.GetValue($stored)
                }
            }
            finally {
                $regKey.Dispose()
            }
        }
        if ($current -ne $expected) {
            throw (New-AgentError -Class 'precondition_failed' -Message "$($Op['key'])\$name is '$current', not '$expected'")
        }
    }
    return @{ changed = $false }
}

Function Invoke-RegistryReadSubkeys {
    # The named values of every direct subkey, in one op (catalog entries, network interfaces).
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $names = @(Get-OpArg $Op 'names')
    $regKey = Open-RegistryKey -Key (Get-OpArg $Op 'key') -View (Get-OpView $Op) -Writable $false -Create $false
    if ($null -eq $regKey) {
        return @{ exists = $false; subkeys = @{} }
    }
    try {
        $answer = @{}
        foreach ($subName in ($regKey.GetSubKeyNames() | Sort-Object)) {
            $values = @{}
            $child = $regKey.OpenSubKey($subName, $false)
            if ($null -ne $child) {
                try {
                    foreach ($name in $names) {
                        $stored = Find-ValueName -RegKey $child -Name ([string]$name)
                        if ($null -ne $stored) {
                            $values[[string]$name] = ConvertTo-AgentValue -RegKey $child -Name $stored
                        }
                    }
                }
                finally {
                    $child.Dispose()
                }
            }
            $answer[$subName] = @{ values = $values }
        }
        return @{ exists = $true; subkeys = $answer }
    }
    catch [System.Security.SecurityException], [System.UnauthorizedAccessException] {
        throw (New-AgentError -Class 'access_denied' -Message "access is denied to a subkey of $($Op['key'])")
    }
    finally {
        $regKey.Dispose()
    }
}

Function Invoke-RegistryEnum {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $regKey = Open-RegistryKey -Key (Get-OpArg $Op 'key') -View (Get-OpView $Op) -Writable $false -Create $false
    if ($null -eq $regKey) {
        return @{ exists = $false; subkeys = @(); value_names = @() }
    }
    try {
        return @{
            exists = $true
            subkeys = @($regKey.GetSubKeyNames() | Sort-Object)
            value_names = @($regKey.GetValueNames() | Sort-Object)
        }
    }
    finally {
        $regKey.Dispose()
    }
}

Function Find-FirstMissingKey {
    # The topmost key of the path that does not exist yet, as the caller spelled it.
    param([string]$Key, [string]$View)
    $parts = $Key.Replace('/', '\').Trim('\').Split('\')
    for ($depth = 2; $depth -le $parts.Count; $depth++) {
        $prefix = $parts[0..($depth - 1)] -join '\'
        $probe = Open-RegistryKey -Key $prefix -View $View -Writable $false -Create $false
        if ($null -eq $probe) {
            return $prefix
        }
        $probe.Dispose()
    }
    return $Key
}

Function Measure-RegistryTree {
    # Counts values and subkeys in the whole subtree of an open key.
    param([Microsoft.Win32.RegistryKey]$RegKey)
    $counts = @{ values = $RegKey.ValueCount; subkeys = 0 }
    foreach ($name in $RegKey.GetSubKeyNames()) {
        $counts.subkeys++
        $child = $RegKey.OpenSubKey($name, $false)
        if ($null -eq $child) {
            continue
        }
        try {
            $inner = Measure-RegistryTree -RegKey $child
            $counts.values += $inner.values
            $counts.subkeys += $inner.subkeys
        }
        finally {
            $child.Dispose()
        }
    }
    return $counts
}

Function Read-RegistryTree {
    # Every value of an open key and of its subkeys, by path relative to it ('' for the key itself), at most $Limit values.
    param([Microsoft.Win32.RegistryKey]$RegKey, [string]$Relative, [hashtable]$Keys, [int]$Limit)
    $values = @{}
    foreach ($name in $RegKey.GetValueNames()) {
        if ($Keys['#count'] -ge $Limit) {
            $Keys['#truncated'] = $true
            break
        }
        $values[$name] = ConvertTo-AgentValue -RegKey $RegKey -Name $name
        $Keys['#count']++
    }
    $Keys[$Relative] = @{ values = $values }
    foreach ($subName in $RegKey.GetSubKeyNames()) {
        $child = $RegKey.OpenSubKey($subName, $false)
        if ($null -eq $child) {
            continue
        }
        try {
            $path = $subName
            if ($Relative) {
                $path = $Relative + '\' + $subName
            }
            Read-RegistryTree -RegKey $child -Relative $path -Keys $Keys -Limit $Limit
        }
        finally {
            $child.Dispose()
        }
    }
}

Function Invoke-RegistryTreeStat {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $regKey = Open-RegistryKey -Key (Get-OpArg $Op 'key') -View (Get-OpView $Op) -Writable $false -Create $false
    if ($null -eq $regKey) {
        return @{ exists = $false; values = 0; subkeys = 0 }
    }
    try {
        $counts = Measure-RegistryTree -RegKey $regKey
        return @{ exists = $true; values = $counts.values; subkeys = $counts.subkeys }
    }
    catch [System.Security.SecurityException], [System.UnauthorizedAccessException] {
        throw (New-AgentError -Class 'access_denied' -Message "access is denied to a subkey of $($Op['key'])")
    }
    finally {
        $regKey.Dispose()
    }
}

Function Invoke-RegistryWrite {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $key = Get-OpArg $Op 'key'
    $view = Get-OpView $Op
    $name = [string](Get-OpArg $Op 'name')
    $type = [string](Get-OpArg $Op 'type')
    $data = ConvertFrom-AgentValue -Type $type -Value (Get-OpArg -Op $Op -Name 'value' -Optional)
    $after = @{ type = $type; value = $Op['value'] }
    if ($type -eq 'none') {
        $after.value = $null
    }
    $before = $null
    $regKey = Open-RegistryKey -Key $key -View $view -Writable $false -Create $false
    $createdKey = $null
    if ($null -eq $regKey) {
        $createdKey = Find-FirstMissingKey -Key $key -View $view
    }
    else {
        $stored = Find-ValueName -RegKey $regKey -Name $name
        if ($null -ne $stored) {
            $before = ConvertTo-AgentValue -RegKey $regKey -Name $stored
        }
        $regKey.Dispose()
    }
    $changed = $true
    if ($null -ne $before -and $before.type -eq $type) {
        $changed = ((ConvertTo-Json -InputObject $before.value -Compress) -ne (ConvertTo-Json -InputObject $after.value -Compress))
    }
    if ($changed -and $Apply) {
        $regKey = Open-RegistryKey -Key $key -View $view -Writable $true -Create $true
        try {
            $regKey.SetValue($name, $data, $Kinds[$type])
        }
        catch [System.Security.SecurityException], [System.UnauthorizedAccessException] {
            throw (New-AgentError -Class 'access_denied' -Message "access is denied writing $name in $key")
        }
        finally {
            $regKey.Dispose()
        }
    }
    return @{ changed = $changed; created_key = $createdKey; before = $before }
}

Function Invoke-RegistryDeleteValue {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $key = Get-OpArg $Op 'key'
    $name = [string](Get-OpArg $Op 'name')
    $regKey = Open-RegistryKey -Key $key -View (Get-OpView $Op) -Writable $Apply -Create $false
    if ($null -eq $regKey) {
        return @{ changed = $false; before = $null }
    }
    try {
        $stored = Find-ValueName -RegKey $regKey -Name $name
        if ($null -eq $stored) {
            return @{ changed = $false; before = $null }
        }
        $before = ConvertTo-AgentValue -RegKey $regKey -Name $stored
        if ($Apply) {
            $regKey.DeleteValue($stored)
        }
        return @{ changed = $true; before = $before }
    }
    catch [System.Security.SecurityException], [System.UnauthorizedAccessException] {
        throw (New-AgentError -Class 'access_denied' -Message "access is denied deleting $name in $key")
    }
    finally {
        $regKey.Dispose()
    }
}

Function Invoke-RegistryDeleteKey {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $key = ([string](Get-OpArg $Op 'key')).Replace('/', '\').TrimEnd('\')
    $separator = $key.LastIndexOf('\')
    if ($separator -lt 0) {
        throw (New-AgentError -Class 'invalid_argument' -Message "refusing to delete the hive root '$key'")
    }
    $parent = Open-RegistryKey -Key $key.Substring(0, $separator) -View (Get-OpView $Op) -Writable $Apply -Create $false
    if ($null -eq $parent) {
        return @{ changed = $false }
    }
    try {
        $leaf = $key.Substring($separator + 1)
        $child = $parent.OpenSubKey($leaf, $false)
        if ($null -eq $child) {
            return @{ changed = $false }
        }
        try {
            $guard = Get-OpArg -Op $Op -Name 'only_if_no_values' -Optional
            if ($null -ne $guard -and $guard -isnot [bool]) {
                throw (New-AgentError -Class 'invalid_argument' -Message "op 'registry_delete_key' takes 'only_if_no_values' as true or false")
            }
            if ($guard -and (Measure-RegistryTree -RegKey $child).values -gt 0) {
                return @{ changed = $false; kept = $true }
            }
        }
        finally {
            $child.Dispose()
        }
        if ($Apply) {
            $parent.DeleteSubKeyTree($leaf)
        }
        return @{ changed = $true }
    }
    catch [System.Security.SecurityException], [System.UnauthorizedAccessException] {
        throw (New-AgentError -Class 'access_denied' -Message "access is denied deleting $key")
    }
    finally {
        $parent.Dispose()
    }
}

Function Get-RegistryValueData {
    param([string]$Key, [string]$Name)
    $regKey = Open-RegistryKey -Key $Key -View '64' -Writable $false -Create $false
    if ($null -eq $regKey) {
        return $null
    }
    try {
        $stored = Find-ValueName -RegKey $regKey -Name $Name
        if ($null -eq $stored) {
            return $null
        }
        return (ConvertTo-AgentValue -RegKey $regKey -Name $stored).value
    }
    finally {
        $regKey.Dispose()
    }
}

Function Test-RegistryKey {
    param([string]$Key)
    $regKey = Open-RegistryKey -Key $Key -View '64' -Writable $false -Create $false
    if ($null -eq $regKey) {
        return $false
    }
    $regKey.Dispose()
    return $true
}

Function Invoke-SystemInfo {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    # CIM and the registry only: both answer the same on every display language.
    $os = Get-CimInstance -ClassName Win32_OperatingSystem
    $parts = ([string]$os.Version).Split('.')
    $current = 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $pending = New-Object -TypeName System.Collections.Generic.List[string]
    if (Test-RegistryKey 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending') {
        $pending.Add('component_based_servicing')
    }
    if (Test-RegistryKey 'HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired') {
        $pending.Add('windows_update')
    }
    $sessionManager = 'HKLM\SYSTEM\CurrentControlSet\Control\Session Manager'
    # sfc and installers queue replacements in either value.
    if ($null -ne (Get-RegistryValueData $sessionManager 'PendingFileRenameOperations') -or $null -ne (Get-RegistryValueData $sessionManager 'PendingFileRenameOperations2')) {
        $pending.Add('pending_file_rename')
    }
    $active = Get-RegistryValueData 'HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName' 'ComputerName'
    $configured = Get-RegistryValueData 'HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ComputerName' 'ComputerName'
    if ($active -and $configured -and -not [string]::Equals($active, $configured, [StringComparison]::OrdinalIgnoreCase)) {
        $pending.Add('computer_rename')
    }
    $hotfixes = @(Get-CimInstance -ClassName Win32_QuickFixEngineering | ForEach-Object { ([string]$_.HotFixID).ToUpperInvariant() } | Sort-Object -Unique)
    return @{
        os = @{
            version = [string]$os.Version
            major = [int]$parts[0]
            minor = [int]$parts[1]
            build = [int]$parts[2]
            ubr = Get-RegistryValueData $current 'UBR'
            service_pack = [int]$os.ServicePackMajorVersion
            product_type = [int]$os.ProductType
            edition = Get-RegistryValueData $current 'EditionID'
            installation_type = Get-RegistryValueData $current 'InstallationType'
            display_version = Get-RegistryValueData $current 'DisplayVersion'
            architecture = Get-RegistryValueData 'HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment' 'PROCESSOR_ARCHITECTURE'
            language = [int]$os.OSLanguage
        }
        hotfixes = $hotfixes
        pending_reboot = @($pending)
        # The invariant culture's calendar: a Thai or Japanese-era display culture does not renumber the year.
        boot_time = $os.LastBootUpTime.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
    }
}

Function Get-ServiceByName {
    # By service name only: display names are localized.
    param([string]$Name)
    foreach ($candidate in [System.ServiceProcess.ServiceController]::GetServices()) {
        if ([string]::Equals($candidate.ServiceName, $Name, [StringComparison]::OrdinalIgnoreCase)) {
            return $candidate
        }
    }
    foreach ($candidate in [System.ServiceProcess.ServiceController]::GetDevices()) {
        if ([string]::Equals($candidate.ServiceName, $Name, [StringComparison]::OrdinalIgnoreCase)) {
            return $candidate
        }
    }
    return $null
}

Function Get-ServiceStartMode {
    # From the service's key: ServiceController.StartType only exists from .NET Framework 4.6.1.
    param([System.ServiceProcess.ServiceController]$Service)
    $key = "HKLM\SYSTEM\CurrentControlSet\Services\$($Service.ServiceName)"
    $start = Get-RegistryValueData $key 'Start'
    if ($null -eq $start) {
        return 'unknown'
    }
    if ($start -eq 2) {
        if ((Get-RegistryValueData $key 'DelayedAutostart') -eq 1) {
            return 'delayed'
        }
        return 'auto'
    }
    $modes = @{ 0 = 'boot'; 1 = 'system'; 3 = 'manual'; 4 = 'disabled' }
    if ($modes.ContainsKey([int]$start)) {
        return $modes[[int]$start]
    }
    return 'unknown'
}

Function Get-ServiceStartError {
    # The Win32 error behind a failed start, from the innermost Win32Exception, and the protocol class it maps to.
    param([System.Exception]$Exception, [string]$Name)
    $code = 0
    $timedOut = $false
    $current = $Exception
    while ($null -ne $current) {
        if ($current -is [System.ComponentModel.Win32Exception]) {
            $code = $current.NativeErrorCode
            break
        }
        if ($current -is [System.ServiceProcess.TimeoutException]) {
            $timedOut = $true
        }
        $current = $current.InnerException
    }
    if ($code -eq 0 -and -not $timedOut) {
        $record = Get-CimInstance -ClassName Win32_Service -Filter "Name='$Name'"
        if ($null -ne $record) {
            $code = [int]$record.ExitCode
        }
    }
    $class = 'service_start_failed'
    if ($timedOut) {
        $class = 'timeout'
    }
    elseif ($code -eq 5) {
        $class = 'access_denied'
    }
    elseif ($code -eq 1058) {
        $class = 'service_disabled'
    }
    elseif ($code -eq 1068 -or $code -eq 1075) {
        $class = 'dependency_failed'
    }
    return @{ code = $code; class = $class }
}

Function Add-ServiceAndDependencies {
    # The service's answer, and with -Closure those of every service it depends on, directly or not.
    param([hashtable]$Answer, [System.ServiceProcess.ServiceController]$Service, [bool]$Closure)
    if ($Answer.ContainsKey($Service.ServiceName)) {
        return
    }
    $key = "HKLM\SYSTEM\CurrentControlSet\Services\$($Service.ServiceName)"
    $Answer[$Service.ServiceName] = @{
        exists = $true
        start_mode = Get-ServiceStartMode -Service $Service
        status = ConvertTo-SnakeCase -Text ([string]$Service.Status)
        dependencies = @($Service.ServicesDependedOn | ForEach-Object { $_.ServiceName })
        dependents_running = @($Service.DependentServices | Where-Object { $_.Status -ne [System.ServiceProcess.ServiceControllerStatus]::Stopped } | ForEach-Object { $_.ServiceName })
        trigger_start = Test-RegistryKey "$key\TriggerInfo"
    }
    if ($Closure) {
        foreach ($dependency in $Service.ServicesDependedOn) {
            Add-ServiceAndDependencies -Answer $Answer -Service $dependency -Closure $true
        }
    }
}

Function ConvertTo-SnakeCase {
    param([string]$Text)
    return ([regex]::Replace($Text, '(?<=[a-z])([A-Z])', '_$1')).ToLowerInvariant()
}

Function Get-RequiredService {
    param([System.Collections.IDictionary]$Op)
    $name = [string](Get-OpArg $Op 'name')
    $service = Get-ServiceByName -Name $name
    if ($null -eq $service) {
        throw (New-AgentError -Class 'not_found' -Message "service $name does not exist (Win32 error 1060)" -ErrorCode 1060)
    }
    return $service
}

Function Invoke-ServiceQuery {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $closure = $true -eq (Get-OpArg -Op $Op -Name 'with_dependencies' -Optional)
    $answer = @{}
    foreach ($name in @(Get-OpArg $Op 'names')) {
        $service = Get-ServiceByName -Name ([string]$name)
        if ($null -eq $service) {
            $answer[[string]$name] = @{ exists = $false }
            continue
        }
        $found = @{}
        Add-ServiceAndDependencies -Answer $found -Service $service -Closure $closure
        foreach ($entry in $found.Keys) {
            # Asked-for names keep the caller's spelling.
            $label = $entry
            if ([string]::Equals($entry, [string]$name, [StringComparison]::OrdinalIgnoreCase)) {
                $label = [string]$name
            }
            $answer[$label] = $found[$entry]
        }
    }
    return @{ services = $answer }
}

Function Invoke-ServiceSetStartMode {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $mode = [string](Get-OpArg $Op 'start_mode')
    if (-not $ScStartModes.ContainsKey($mode)) {
        throw (New-AgentError -Class 'invalid_argument' -Message "start_mode must be one of auto, delayed, manual, disabled, not '$mode'")
    }
    $service = Get-RequiredService -Op $Op
    $before = Get-ServiceStartMode -Service $service
    $changed = $before -ne $mode
    if ($changed -and $Apply) {
        $scArguments = @('config', $service.ServiceName, 'start=', $ScStartModes[$mode])
        # Local to this function: under the module's 'Stop', a native program's stderr in a hosted runspace becomes a
        # terminating NativeCommandError before the exit code is looked at. sc.exe is judged by its exit code only.
        $ErrorActionPreference = 'Continue'
        $null = & "$env:SystemRoot\System32\sc.exe" @scArguments 2>$null
        if ($LASTEXITCODE -ne 0) {
            $class = 'host_error'
            if ($LASTEXITCODE -eq 5) {
                $class = 'access_denied'
            }
            throw (New-AgentError -Class $class -Message "changing the start mode of $($service.ServiceName) failed (Win32 error $LASTEXITCODE)" -ErrorCode $LASTEXITCODE)
        }
    }
    return @{ changed = $changed; before = $before }
}

Function Invoke-ServiceStart {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $service = Get-RequiredService -Op $Op
    if ($service.Status -eq [System.ServiceProcess.ServiceControllerStatus]::Running) {
        return @{ changed = $false; status = 'running' }
    }
    if (-not $Apply) {
        return @{ changed = $true; status = ConvertTo-SnakeCase -Text ([string]$service.Status) }
    }
    $timeout = Get-OpArg -Op $Op -Name 'timeout_seconds' -Optional
    if ($null -eq $timeout) {
        $timeout = 60
    }
    $span = [TimeSpan]::FromSeconds([int]$timeout)
    try {
        # A service on its way somewhere is waited for; Start() would throw on it.
        if ($service.Status -eq [System.ServiceProcess.ServiceControllerStatus]::StopPending) {
            $service.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Stopped, $span)
        }
        if ($service.Status -ne [System.ServiceProcess.ServiceControllerStatus]::StartPending) {
            # The Service Control Manager starts the dependencies first.
            $service.Start()
        }
        $service.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Running, $span)
    }
    catch {
        $failure = Get-ServiceStartError -Exception $_.Exception -Name $service.ServiceName
        $service.Refresh()
        $message = "service $($service.ServiceName) did not start (Win32 error $($failure.code)); it is $(ConvertTo-SnakeCase -Text ([string]$service.Status))"
        throw (New-AgentError -Class $failure.class -Message $message -ErrorCode $failure.code)
    }
    return @{ changed = $true; status = 'running' }
}

Function Invoke-ServiceStop {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $service = Get-RequiredService -Op $Op
    if ($service.Status -eq [System.ServiceProcess.ServiceControllerStatus]::Stopped) {
        return @{ changed = $false; status = 'stopped'; stopped = @() }
    }
    if (-not $Apply) {
        return @{ changed = $true; status = ConvertTo-SnakeCase -Text ([string]$service.Status); stopped = @() }
    }
    $running = @($service.DependentServices | Where-Object { $_.Status -ne [System.ServiceProcess.ServiceControllerStatus]::Stopped } | ForEach-Object { $_.ServiceName })
    $timeout = Get-OpArg -Op $Op -Name 'timeout_seconds' -Optional
    if ($null -eq $timeout) {
        $timeout = 60
    }
    try {
        # ServiceController.Stop stops the running dependent services first.
        $service.Stop()
        $service.WaitForStatus([System.ServiceProcess.ServiceControllerStatus]::Stopped, [TimeSpan]::FromSeconds([int]$timeout))
    }
    catch {
        throw (New-AgentError -Class 'host_error' -Message "service $($service.ServiceName) did not stop: $($_.Exception.Message)")
    }
    return @{ changed = $true; status = 'stopped'; stopped = @($running + $service.ServiceName) }
}

Function ConvertTo-CommandLineArgument {
    # One argument as CommandLineToArgvW reads it back: quoted, with the backslashes before a quote (and before the
    # closing quote) doubled, so a path ending in '\' does not swallow the quote.
    param([string]$Argument)
    $escaped = [regex]::Replace($Argument, '(\\*)"', '$1$1\"')
    $escaped = [regex]::Replace($escaped, '(\\+)$', '$1$1')
    return '"' + $escaped + '"'
}

Function Invoke-ProcessRun {
    # Runs a program and returns its exit code and raw output (base64); the output is never parsed.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $path = [Environment]::ExpandEnvironmentVariables([string](Get-OpArg $Op 'path'))
    $arguments = @()
    $given = Get-OpArg -Op $Op -Name 'arguments' -Optional
    if ($null -ne $given) {
        if ($given -isnot [System.Collections.IList]) {
            throw (New-AgentError -Class 'invalid_argument' -Message "op 'process_run' takes 'arguments' as a list of strings")
        }
        $arguments = @($given)
    }
    if (-not (Test-Path -LiteralPath $path -PathType Leaf)) {
        throw (New-AgentError -Class 'not_found' -Message "$path does not exist (Win32 error 2)" -ErrorCode 2)
    }
    if (-not $Apply) {
        return @{ changed = $true; exit_code = $null; stdout_base64 = ''; stderr_base64 = '' }
    }
    $timeout = Get-OpArg -Op $Op -Name 'timeout_seconds' -Optional
    if ($null -eq $timeout) {
        $timeout = 3600
    }
    $quoted = @($arguments | ForEach-Object { ConvertTo-CommandLineArgument -Argument ([string]$_) })
    $startInfo = New-Object -TypeName System.Diagnostics.ProcessStartInfo
    $startInfo.FileName = $path
    $startInfo.Arguments = $quoted -join ' '
    $startInfo.UseShellExecute = $false
    $startInfo.RedirectStandardOutput = $true
    $startInfo.RedirectStandardError = $true
    $startInfo.CreateNoWindow = $true
    $process = [System.Diagnostics.Process]::Start($startInfo)
    $outBuffer = New-Object -TypeName System.IO.MemoryStream
    $errBuffer = New-Object -TypeName System.IO.MemoryStream
    $outCopy = $process.StandardOutput.BaseStream.CopyToAsync($outBuffer)
    $errCopy = $process.StandardError.BaseStream.CopyToAsync($errBuffer)
    if (-not $process.WaitForExit([int]$timeout * 1000)) {
        $process.Kill()
        throw (New-AgentError -Class 'host_error' -Message "$path did not finish within $timeout seconds and was stopped")
    }
    $null = $outCopy.Wait(10000)
    $null = $errCopy.Wait(10000)
    $success = Get-OpArg -Op $Op -Name 'success_exit_codes' -Optional
    if ($null -ne $success -and @($success) -notcontains $process.ExitCode) {
        $failure = New-AgentError -Class 'process_failed' -Message "$path exited with $($process.ExitCode)"
        $failure.Data['ExitCode'] = $process.ExitCode
        throw $failure
    }
    return @{
        changed = $true
        exit_code = $process.ExitCode
        stdout_base64 = [Convert]::ToBase64String($outBuffer.ToArray())
        stderr_base64 = [Convert]::ToBase64String($errBuffer.ToArray())
    }
}

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

Function Invoke-FileStat {
    # Existence, size and the numeric file version of each path (environment variables expanded on the host). The
    # numbers come from the version resource's fixed part: the FileVersion text can carry build labels.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $files = @{}
    foreach ($path in @(Get-OpArg $Op 'paths')) {
        $expanded = [Environment]::ExpandEnvironmentVariables([string]$path)
        $entry = @{ expanded = $expanded; exists = $false; size = $null; version = $null }
        if ([System.IO.File]::Exists($expanded)) {
            $entry['exists'] = $true
            $entry['size'] = (New-Object -TypeName System.IO.FileInfo -ArgumentList $expanded).Length
            $info = [System.Diagnostics.FileVersionInfo]::GetVersionInfo($expanded)
            if ($info.FileMajorPart -or $info.FileMinorPart -or $info.FileBuildPart -or $info.FilePrivatePart) {
                $entry['version'] = '{0}.{1}.{2}.{3}' -f $info.FileMajorPart, $info.FileMinorPart, $info.FileBuildPart, $info.FilePrivatePart
            }
        }
        $files[[string]$path] = $entry
    }
    return @{ files = $files }
}

Function Invoke-FileRead {
    # A small file's bytes as base64 (environment variables expanded on the host); refused above max_bytes.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $path = [string](Get-OpArg $Op 'path')
    $limit = Get-OpArg $Op 'max_bytes' -Optional
    if ($null -eq $limit) {
        $limit = 1048576
    }
    $expanded = [Environment]::ExpandEnvironmentVariables($path)
    if (-not [System.IO.File]::Exists($expanded)) {
        return @{ expanded = $expanded; exists = $false }
    }
    $size = (New-Object -TypeName System.IO.FileInfo -ArgumentList $expanded).Length
    if ($size -gt [long]$limit) {
        throw (New-AgentError -Class 'too_large' -Message "$expanded holds $size bytes, more than max_bytes ($limit)")
    }
    $bytes = [System.IO.File]::ReadAllBytes($expanded)
    return @{ expanded = $expanded; exists = $true; size = $bytes.Length; content = [Convert]::ToBase64String($bytes) }
}

Function Get-OpTimeout {
    # timeout_ms of an op (default 5000), within 1 ms to 2 minutes.
    param([System.Collections.IDictionary]$Op)
    $timeout = Get-OpArg $Op 'timeout_ms' -Optional
    if ($null -eq $timeout) {
        return 5000
    }
    if ([int]$timeout -lt 1 -or [int]$timeout -gt 120000) {
        throw (New-AgentError -Class 'invalid_argument' -Message "timeout_ms must be 1 to 120000, not $timeout")
    }
    return [int]$timeout
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

Function Get-OpProxy {
    # Where a probe goes: 'default' (the WinHTTP default proxy), 'direct', or a proxy server as host:port.
    param([System.Collections.IDictionary]$Op, [string]$Default)
    $proxy = Get-OpArg -Op $Op -Name 'proxy' -Optional
    if ($null -eq $proxy) {
        return $Default
    }
    $proxy = [string]$proxy
    if ($proxy -ne 'default' -and $proxy -ne 'direct' -and $proxy -notmatch '^[A-Za-z0-9.\-\[\]:]+:[0-9]{1,5}$') {
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

Function Invoke-WsmanConfigRead {
    # Values of the WinRM configuration (the WSMan: drive under localhost), as the text WinRM stores; null when absent.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $values = @{}
    foreach ($path in @(Get-OpArg $Op 'paths')) {
        $path = [string]$path
        if ($path -notmatch '^[A-Za-z0-9_.]+(\\[A-Za-z0-9_.]+)*$') {
            throw (New-AgentError -Class 'invalid_argument' -Message "paths: '$path' is not a path below WSMan:\localhost")
        }
        $item = Get-Item -LiteralPath ('WSMan:\localhost\' + $path) -ErrorAction SilentlyContinue
        if ($null -eq $item) {
            $values[$path] = $null
        }
        else {
            $values[$path] = [string]$item.Value
        }
    }
    return @{ values = $values }
}

Function Invoke-UpdateHistory {
    # The newest entries of the Windows Update Agent's history (COM, as Windows 7 has it): dates in UTC, operation and
    # result codes, update and category ids; titles are display text and are not returned. available=false with the
    # HRESULT when the agent cannot be asked (its service disabled, say).
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $count = [int](Get-OpArg $Op 'count')
    if ($count -lt 1 -or $count -gt 1000) {
        throw (New-AgentError -Class 'invalid_argument' -Message "count must be 1 to 1000, not $count")
    }
    $invariant = [System.Globalization.CultureInfo]::InvariantCulture
    $entries = New-Object -TypeName System.Collections.Generic.List[object]
    try {
        $searcher = (New-Object -ComObject Microsoft.Update.Session).CreateUpdateSearcher()
        $total = [int]$searcher.GetTotalHistoryCount()
        if ($total -gt 0) {
            foreach ($entry in $searcher.QueryHistory(0, [Math]::Min($total, $count))) {
                $categories = New-Object -TypeName System.Collections.Generic.List[string]
                foreach ($category in @($entry.Categories)) {
                    $categories.Add(([string]$category.CategoryID).ToLowerInvariant())
                }
                # The agent keeps these dates in UTC already.
                $entries.Add(@{
                    date = $entry.Date.ToString('yyyy-MM-ddTHH:mm:ss', $invariant) + 'Z'
                    operation = [int]$entry.Operation
                    result_code = [int]$entry.ResultCode
                    update_id = [string]$entry.UpdateIdentity.UpdateID
                    client_application_id = [string]$entry.ClientApplicationID
                    category_ids = @($categories)
                })
            }
        }
    }
    catch {
        return @{ available = $false; hresult = $_.Exception.HResult; total = 0; entries = @() }
    }
    return @{ available = $true; total = $total; entries = @($entries) }
}

Function Invoke-RegistryWait {
    # Reads one value every interval_ms until it is no longer not_equal (a {type, value}, or null for absent) or
    # timeout_seconds have passed; returns the value last read, whether it moved, and how long it waited. It changes nothing.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $name = [string](Get-OpArg $Op 'name')
    $unwanted = Get-OpArg -Op $Op -Name 'not_equal' -Optional
    $timeout = [int](Get-OpArg $Op 'timeout_seconds')
    $interval = Get-OpArg -Op $Op -Name 'interval_ms' -Optional
    if ($null -eq $interval) {
        $interval = 5000
    }
    if ($timeout -lt 0 -or $timeout -gt 14400 -or [int]$interval -lt 100 -or [int]$interval -gt 60000) {
        throw (New-AgentError -Class 'invalid_argument' -Message 'timeout_seconds must be 0 to 14400 and interval_ms 100 to 60000')
    }
    $read = @{ op = 'registry_read'; key = (Get-OpArg $Op 'key'); view = (Get-OpView $Op); names = @($name) }
    $started = [DateTime]::UtcNow
    while ($true) {
        $current = (Invoke-RegistryRead -Op $read -Apply $false).values[$name]
        if ($null -eq $unwanted) {
            $same = $null -eq $current
        }
        else {
            $same = $null -ne $current -and [string]$current.type -eq [string]$unwanted['type'] -and [string]$current.value -eq [string]$unwanted['value']
        }
        $waited = [int]([DateTime]::UtcNow - $started).TotalMilliseconds
        if (-not $same -or $waited -ge $timeout * 1000) {
            return @{ moved = (-not $same); value = $current; waited_ms = $waited }
        }
        Start-Sleep -Milliseconds ([Math]::Min([int]$interval, [Math]::Max(1, $timeout * 1000 - $waited)))
    }
}

Function Invoke-ProcessList {
    # Running processes by image name with their session id, optionally only the named images; no command lines, no owners.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $wanted = @(Get-OpArg -Op $Op -Name 'names' -Optional | ForEach-Object { ([string]$_).ToLowerInvariant() })
    $found = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($process in [System.Diagnostics.Process]::GetProcesses()) {
        $image = $process.ProcessName + '.exe'
        if ($wanted.Count -eq 0 -or $wanted -contains $image.ToLowerInvariant()) {
            $found.Add(@{ name = $image; id = [int]$process.Id; session_id = [int]$process.SessionId })
        }
    }
    return @{ processes = @($found) }
}

Function Get-ProfilePath {
    # The profile directory of a user account (ProfileList's ProfileImagePath, expanded), or $null.
    param([string]$Sid)
    if ($Sid -notmatch '^S-1-(5-21|12-1)-[0-9-]+$') {
        throw (New-AgentError -Class 'invalid_argument' -Message "'$Sid' is not the SID of a user account")
    }
    $value = Get-RegistryValueData "HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList\$Sid" 'ProfileImagePath'
    if (-not $value) {
        return $null
    }
    return [Environment]::ExpandEnvironmentVariables([string]$value)
}

Function Invoke-ProfileList {
    # User profiles on this host (ProfileList): SID, profile directory, and whether the hive is loaded under HKEY_USERS.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $users = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::Users, [Microsoft.Win32.RegistryView]::Default)
    try {
        $loaded = @($users.GetSubKeyNames())
    }
    finally {
        $users.Dispose()
    }
    $profiles = New-Object -TypeName System.Collections.Generic.List[object]
    $list = Open-RegistryKey -Key 'HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList' -View '64' -Writable $false -Create $false
    if ($null -ne $list) {
        try {
            foreach ($sid in $list.GetSubKeyNames()) {
                if ($sid -match '^S-1-(5-21|12-1)-[0-9-]+$') {
                    $profilePath = Get-ProfilePath -Sid $sid
                    $hiveFile = [bool]$profilePath -and [System.IO.File]::Exists((Join-Path -Path $profilePath -ChildPath 'NTUSER.DAT'))
                    $profiles.Add(@{ sid = $sid; path = $profilePath; loaded = ($loaded -contains $sid); hive_file = $hiveFile })
                }
            }
        }
        finally {
            $list.Dispose()
        }
    }
    return @{ profiles = @($profiles) }
}

Function Set-HiveMarker {
    # Remembers on the host, under the key the op names (marker_key), a hive this agent loads: written before the load,
    # removed after the unload, so a hive an execution could not unload (or that was killed meanwhile) is known to the
    # next one (user_hive_unload_recorded). The value is the agent's UTC time of the load.
    param([System.Collections.IDictionary]$Op, [string]$Sid, [bool]$Present)
    $markerKey = Get-OpArg -Op $Op -Name 'marker_key' -Optional
    if (-not $markerKey) {
        return
    }
    $regKey = Open-RegistryKey -Key ([string]$markerKey) -View '64' -Writable $true -Create $Present
    if ($null -eq $regKey) {
        return
    }
    try {
        if ($Present) {
            $regKey.SetValue($Sid, [DateTime]::UtcNow.ToString('o'), [Microsoft.Win32.RegistryValueKind]::String)
        }
        elseif ($null -ne $regKey.GetValue($Sid)) {
            $regKey.DeleteValue($Sid)
        }
    }
    catch [System.Security.SecurityException], [System.UnauthorizedAccessException] {
        throw (New-AgentError -Class 'access_denied' -Message "access is denied writing the hive marker $Sid in $markerKey")
    }
    finally {
        $regKey.Dispose()
    }
}

Function Invoke-HiveUnload {
    # reg.exe unload of HKU\<SID>, judged by its exit code. Another process (a scanner, a printer driver) may hold a
    # handle in the hive for a moment: tried five times, a second apart, before it is reported failed (G4). Returns
    # the attempts it took.
    param([string]$Sid)
    $run = @{ op = 'process_run'; path = '%SystemRoot%\System32\reg.exe'; arguments = @('unload', "HKU\$Sid"); success_exit_codes = @(0); timeout_seconds = 60 }
    $attempt = 1
    while ($true) {
        [GC]::Collect()
        [GC]::WaitForPendingFinalizers()
        try {
            [void](Invoke-ProcessRun -Op $run -Apply $true)
            return $attempt
        }
        catch {
            if ($attempt -ge 5) {
                throw
            }
            $attempt++
            Start-Sleep -Seconds 1
        }
    }
}

Function Invoke-UserHiveLoad {
    # Loads a user's profile hive (NTUSER.DAT) under HKEY_USERS\<SID> with reg.exe, judged by its exit code; a hive
    # already loaded is left as it is. Runs in check mode too: reading the hive needs it loaded. With marker_key, the
    # load is remembered there first (Set-HiveMarker).
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $sid = [string](Get-OpArg $Op 'sid')
    $profilePath = Get-ProfilePath -Sid $sid
    if (-not $profilePath) {
        throw (New-AgentError -Class 'not_found' -Message "$sid has no profile on this host")
    }
    if (Test-RegistryKey "HKU\$sid") {
        return @{ sid = $sid; loaded = $false; already_loaded = $true }
    }
    $hiveFile = Join-Path -Path $profilePath -ChildPath 'NTUSER.DAT'
    if (-not [System.IO.File]::Exists($hiveFile)) {
        # reg.exe load would create an empty hive there.
        throw (New-AgentError -Class 'not_found' -Message "the profile of $sid has no $hiveFile")
    }
    Set-HiveMarker -Op $Op -Sid $sid -Present $true
    $run = @{ op = 'process_run'; path = '%SystemRoot%\System32\reg.exe'; arguments = @('load', "HKU\$sid", $hiveFile); success_exit_codes = @(0); timeout_seconds = 60 }
    try {
        [void](Invoke-ProcessRun -Op $run -Apply $true)
    }
    catch {
        Set-HiveMarker -Op $Op -Sid $sid -Present $false
        throw
    }
    $script:HivesLoaded[$sid] = $true
    return @{ sid = $sid; loaded = $true; already_loaded = $false }
}

Function Invoke-UserHiveUnload {
    # Unloads a hive user_hive_load loaded in this execution (the agent's own registry handles are released first); a
    # hive loaded by anything else (the user's logon) is left loaded. The marker goes only once the hive is unloaded.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $sid = [string](Get-OpArg $Op 'sid')
    if (-not $script:HivesLoaded.ContainsKey($sid)) {
        return @{ sid = $sid; unloaded = $false }
    }
    $attempts = Invoke-HiveUnload -Sid $sid
    $script:HivesLoaded.Remove($sid)
    Set-HiveMarker -Op $Op -Sid $sid -Present $false
    return @{ sid = $sid; unloaded = $true; attempts = $attempts }
}

Function Invoke-UserHiveUnloadRecorded {
    # The hives an earlier execution loaded and did not unload, as its markers under marker_key say: each still loaded
    # and marked more than older_than_seconds ago is unloaded (a hive a signed-in user's logon now holds will not
    # unload, and stays marked); a marker whose hive is no longer loaded (a restart, the user's sign-out) is removed.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $markerKey = [string](Get-OpArg $Op 'marker_key')
    $olderThan = [int](Get-OpArg $Op 'older_than_seconds')
    $answer = @{ changed = $false; unloaded = @(); cleared = @(); still_loaded = @(); recent = @() }
    $regKey = Open-RegistryKey -Key $markerKey -View '64' -Writable $false -Create $false
    if ($null -eq $regKey) {
        return $answer
    }
    $marks = @{}
    try {
        foreach ($name in $regKey.GetValueNames()) {
            $marks[$name] = [string]$regKey.GetValue($name)
        }
    }
    finally {
        $regKey.Dispose()
    }
    foreach ($sid in ($marks.Keys | Sort-Object)) {
        $since = [DateTime]::MinValue
        $known = [DateTime]::TryParse($marks[$sid], [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::RoundtripKind, [ref]$since)
        $markOp = @{ marker_key = $markerKey }
        if (-not (Test-RegistryKey "HKU\$sid")) {
            $answer.cleared += $sid
            $answer.changed = $true
            if ($Apply) {
                Set-HiveMarker -Op $markOp -Sid $sid -Present $false
            }
            continue
        }
        if ($known -and ([DateTime]::UtcNow - $since.ToUniversalTime()).TotalSeconds -lt $olderThan) {
            # Loaded a moment ago: another run's execution may be reading it now.
            $answer.recent += $sid
            continue
        }
        if (-not $Apply) {
            $answer.unloaded += $sid
            $answer.changed = $true
            continue
        }
        try {
            [void](Invoke-HiveUnload -Sid $sid)
            Set-HiveMarker -Op $markOp -Sid $sid -Present $false
            $answer.unloaded += $sid
            $answer.changed = $true
        }
        catch {
            $answer.still_loaded += @{ sid = $sid; since = $marks[$sid]; message = [string]$_.Exception.Message }
        }
    }
    return $answer
}

Function Invoke-DirectoryStat {
    # Directories by absolute path (environment variables expanded as the agent's account): files, count, size.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    return @{ directories = (Get-UserDirectories -Paths @(Get-OpArg $Op 'paths')) }
}

Function Invoke-DirectoryRemove {
    # A directory removed, or moved to move_to; paths of fewer than four parts are refused.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $answer = Remove-UserDirectory -Path ([string](Get-OpArg $Op 'path')) -MoveTo ([string](Get-OpArg -Op $Op -Name 'move_to' -Optional)) -Apply $Apply
    if (-not $answer['ok']) {
        throw (New-AgentError -Class $answer['error'] -Message $answer['message'])
    }
    return @{ changed = $answer['changed']; moved_to = $answer['moved_to'] }
}

Function Invoke-UserSessions {
    # Users signed in interactively: the owners of explorer.exe, by SID (names are shown, never matched for meaning).
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $sessions = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($process in @(Get-CimInstance -ClassName Win32_Process -Filter "Name = 'explorer.exe'")) {
        $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwnerSid
        if ($owner.ReturnValue -ne 0 -or -not $owner.Sid) {
            continue
        }
        $user = [string]$owner.Sid
        $account = Invoke-CimMethod -InputObject $process -MethodName GetOwner
        if ($account.ReturnValue -eq 0 -and $account.User) {
            $user = [string]$account.User
            if ($account.Domain) {
                $user = [string]$account.Domain + '\' + $user
            }
        }
        $sessions.Add(@{ sid = [string]$owner.Sid; user = $user; session_id = [int]$process.SessionId })
    }
    return @{ sessions = @($sessions) }
}

Function Invoke-RegistryReadUserHives {
    # One subkey in every loaded user profile hive (HKEY_USERS\<SID>), in one op: its named values, or with tree=true
    # every value of the subkey and below it (at most max_values in all).
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $subkey = [string](Get-OpArg $Op 'subkey')
    $tree = [bool](Get-OpArg -Op $Op -Name 'tree' -Optional)
    $names = @()
    if (-not $tree) {
        $names = @(Get-OpArg $Op 'names')
    }
    $limit = Get-OpArg -Op $Op -Name 'max_values' -Optional
    if ($null -eq $limit) {
        $limit = 10000
    }
    $users = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::Users, [Microsoft.Win32.RegistryView]::Default)
    $hives = @{}
    try {
        foreach ($sid in $users.GetSubKeyNames()) {
            # Domain, local and Entra ID accounts; not service accounts, not the _Classes hives.
            if ($sid -notmatch '^S-1-(5-21|12-1)-[0-9-]+$') {
                continue
            }
            if (-not $tree) {
                $read = @{ op = 'registry_read'; key = "HKU\$sid\$subkey"; names = $names }
                $hives[$sid] = Invoke-RegistryRead -Op $read -Apply $false
                continue
            }
            $regKey = $users.OpenSubKey("$sid\$subkey", $false)
            if ($null -eq $regKey) {
                $hives[$sid] = @{ exists = $false; keys = @{}; truncated = $false }
                continue
            }
            try {
                $keys = @{ '#count' = 0; '#truncated' = $false }
                Read-RegistryTree -RegKey $regKey -Relative '' -Keys $keys -Limit ([int]$limit)
                $truncated = $keys['#truncated']
                $keys.Remove('#count')
                $keys.Remove('#truncated')
                $hives[$sid] = @{ exists = $true; keys = $keys; truncated = $truncated }
            }
            finally {
                $regKey.Dispose()
            }
        }
    }
    finally {
        $users.Dispose()
    }
    return @{ hives = $hives }
}

# What may run in a user's session, by kind: a read op may go in user_session_read, a write op in user_session_write.
$UserReadOps = @('credential_list', 'directory_stat', 'work_account')
$UserWriteOps = @('credential_delete', 'directory_remove')
# The functions of UserSession.psm1 the task's script carries (their text is copied into it).
$UserSessionFunctions = @('Initialize-UserCredentialType', 'Invoke-UserOp', 'Get-UserDirectories', 'Remove-UserDirectory', 'Invoke-UserOps')

Function Invoke-InUserSession {
    # Runs user ops in one user's interactive session: a scheduled task with that user's interactive token (Task
    # Scheduler COM, as on Windows 7), started, waited for (bounded), its JSON answer read, the task and files removed.
    param([System.Collections.IDictionary]$Session, [object[]]$UserOps, [int]$TimeoutSeconds, [bool]$Apply)
    $folderPath = Join-Path -Path $env:SystemRoot -ChildPath ('Temp\m365ops-' + [Guid]::NewGuid().ToString('N'))
    $taskName = 'm365ops-activation-' + [Guid]::NewGuid().ToString('N')
    $entry = @{ sid = $Session['sid']; user = $Session['user']; session_id = $Session['session_id']; ok = $false; output = $null }
    $service = $null
    $folder = $null
    try {
        $directory = New-Item -ItemType Directory -Path $folderPath -Force
        # SYSTEM and the administrators own the folder; the user may read and run what is in it, and write the two answer
        # files the agent creates for it, but create nothing: no junction or link the elevated cleanup could meet (G1).
        $acl = New-Object -TypeName System.Security.AccessControl.DirectorySecurity
        $acl.SetAccessRuleProtection($true, $false)
        $inherit = [System.Security.AccessControl.InheritanceFlags]'ContainerInherit, ObjectInherit'
        $user = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList ([string]$Session['sid'])
        foreach ($sid in @('S-1-5-18', 'S-1-5-32-544')) {
            $identity = New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $sid
            $acl.AddAccessRule((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $identity, 'FullControl', $inherit, 'None', 'Allow'))
        }
        $acl.AddAccessRule((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $user, 'ReadAndExecute', $inherit, 'None', 'Allow'))
        $directory.SetAccessControl($acl)
        $opsPath = Join-Path -Path $folderPath -ChildPath 'ops.json'
        $outputPath = Join-Path -Path $folderPath -ChildPath 'output.json'
        $donePath = Join-Path -Path $folderPath -ChildPath 'done'
        $scriptPath = Join-Path -Path $folderPath -ChildPath 'run.ps1'
        $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
        foreach ($answerPath in @($outputPath, $donePath)) {
            [System.IO.File]::WriteAllText($answerPath, '', $utf8)
            $fileAcl = Get-Acl -LiteralPath $answerPath
            $fileAcl.AddAccessRule((New-Object -TypeName System.Security.AccessControl.FileSystemAccessRule -ArgumentList $user, 'Write', 'Allow'))
            Set-Acl -LiteralPath $answerPath -AclObject $fileAcl
        }
        [System.IO.File]::WriteAllText($opsPath, (ConvertTo-Json -InputObject @{ ops = $UserOps } -Depth 6 -Compress), $utf8)
        $script = New-Object -TypeName System.Text.StringBuilder
        foreach ($name in $UserSessionFunctions) {
            [void]$script.AppendLine("Function $name {").AppendLine((Get-Command -Name $name -CommandType Function).ScriptBlock.ToString()).AppendLine('}')
        }
        [void]$script.AppendLine("Invoke-UserOps -OpsPath '$opsPath' -OutputPath '$outputPath' -DonePath '$donePath' -Apply `$$Apply")
        [System.IO.File]::WriteAllText($scriptPath, $script.ToString(), $utf8)

        $service = New-Object -ComObject Schedule.Service
        $service.Connect()
        $folder = $service.GetFolder('\')
        $definition = $service.NewTask(0)
        $definition.Settings.Hidden = $true
        $definition.Settings.DisallowStartIfOnBatteries = $false
        $definition.Settings.StopIfGoingOnBatteries = $false
        $definition.Settings.ExecutionTimeLimit = 'PT' + [string]($TimeoutSeconds + 60) + 'S'
        # TASK_LOGON_INTERACTIVE_TOKEN: the user's own session, without the user's password.
        $definition.Principal.UserId = [string]$Session['user']
        $definition.Principal.LogonType = 3
        $definition.Principal.RunLevel = 0
        $action = $definition.Actions.Create(0)
        $action.Path = Join-Path -Path $env:SystemRoot -ChildPath 'System32\WindowsPowerShell\v1.0\powershell.exe'
        $action.Arguments = '-NoProfile -NonInteractive -WindowStyle Hidden -ExecutionPolicy Bypass -File "' + $scriptPath + '"'
        # TASK_CREATE_OR_UPDATE with the interactive token logon.
        $task = $folder.RegisterTaskDefinition($taskName, $definition, 6, $null, $null, 3)
        [void]$task.Run($null)
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        while ((Get-Item -LiteralPath $donePath).Length -eq 0 -and [DateTime]::UtcNow -lt $deadline) {
            Start-Sleep -Milliseconds 250
        }
        if ((Get-Item -LiteralPath $donePath).Length -gt 0) {
            $entry['ok'] = $true
            $entry['output'] = [System.IO.File]::ReadAllText($outputPath, $utf8)
        }
        else {
            $entry['error'] = 'timeout'
            $entry['task_result'] = [int]$task.LastTaskResult
        }
    }
    catch {
        $entry['error'] = 'host_error'
        $entry['message'] = $_.Exception.Message
        $entry['hresult'] = $_.Exception.HResult
    }
    finally {
        if ($null -ne $folder) {
            try {
                $folder.DeleteTask($taskName, 0)
            }
            catch {
                $entry['cleanup'] = 'the task was not registered or could not be removed'
            }
        }
        # Directory.Delete does not descend through reparse points; Remove-Item -Recurse of PowerShell 5.1 does (G1).
        try {
            if ([System.IO.Directory]::Exists($folderPath)) {
                [System.IO.Directory]::Delete($folderPath, $true)
            }
        }
        catch {
            $entry['cleanup'] = "the task's folder $folderPath could not be removed: $($_.Exception.Message)"
        }
    }
    return $entry
}

Function Invoke-UserSessionOps {
    # The given user ops in every interactive session (or the sessions of the users named by SID), one entry per session;
    # no session, no entry: the controller says "no user session", never success.
    param([System.Collections.IDictionary]$Op, [bool]$Apply, [string[]]$Allowed)
    $userOps = @(Get-OpArg $Op 'ops')
    foreach ($userOp in $userOps) {
        if ($Allowed -notcontains [string]$userOp['op']) {
            throw (New-AgentError -Class 'invalid_argument' -Message "op '$($userOp['op'])' may not run in $($Op['op'])")
        }
    }
    $timeout = [int](Get-OpArg $Op 'timeout_seconds')
    if ($timeout -lt 5 -or $timeout -gt 600) {
        throw (New-AgentError -Class 'invalid_argument' -Message 'timeout_seconds must be 5 to 600')
    }
    $only = @(Get-OpArg -Op $Op -Name 'users' -Optional)
    $seen = @{}
    $answers = New-Object -TypeName System.Collections.Generic.List[object]
    if ([bool](Get-OpArg -Op $Op -Name 'self' -Optional)) {
        # Run as the account this agent runs as (Ansible's become user, whose profile become loaded), in this process.
        $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
        $entry = @{ sid = $identity.User.Value; user = $identity.Name; session_id = $null; ok = $true }
        try {
            Initialize-UserCredentialType
            $results = @($userOps | ForEach-Object { Invoke-UserOp -Op $_ -Apply $Apply })
            $entry['output'] = ConvertTo-Json -InputObject @{ ok = $true; results = $results } -Depth 6 -Compress
        }
        catch {
            $entry['ok'] = $false
            $entry['error'] = 'host_error'
            $entry['message'] = $_.Exception.Message
        }
        $answers.Add($entry)
        return @{ sessions = @($answers) }
    }
    foreach ($session in @((Invoke-UserSessions -Op @{} -Apply $false).sessions)) {
        if ($seen.ContainsKey($session['sid']) -or ($only.Count -gt 0 -and $only -notcontains $session['sid'])) {
            continue
        }
        $seen[$session['sid']] = $true
        $answers.Add((Invoke-InUserSession -Session $session -UserOps $userOps -TimeoutSeconds $timeout -Apply $Apply))
    }
    return @{ sessions = @($answers) }
}

Function Invoke-UserSessionRead {
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    return Invoke-UserSessionOps -Op $Op -Apply $false -Allowed $UserReadOps
}

Function Invoke-UserSessionWrite {
    # A write op: in check mode the task runs with apply off and reports what it would change.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $answer = Invoke-UserSessionOps -Op $Op -Apply $Apply -Allowed $UserWriteOps
    $answer['changed'] = $false
    foreach ($session in $answer['sessions']) {
        if ($session['ok'] -and $session['output'] -match '"changed":true') {
            $answer['changed'] = $true
        }
    }
    return $answer
}

$Handlers = @{
    registry_read = ${function:Invoke-RegistryRead}
    registry_enum = ${function:Invoke-RegistryEnum}
    registry_read_subkeys = ${function:Invoke-RegistryReadSubkeys}
    registry_write = ${function:Invoke-RegistryWrite}
    registry_delete_value = ${function:Invoke-RegistryDeleteValue}
    registry_delete_key = ${function:Invoke-RegistryDeleteKey}
    registry_tree_stat = ${function:Invoke-RegistryTreeStat}
    expect = ${function:Invoke-Expect}
    service_query = ${function:Invoke-ServiceQuery}
    service_set_start_mode = ${function:Invoke-ServiceSetStartMode}
    service_start = ${function:Invoke-ServiceStart}
    service_stop = ${function:Invoke-ServiceStop}
    process_run = ${function:Invoke-ProcessRun}
    adapter_list = ${function:Invoke-AdapterList}
    connection_profiles = ${function:Invoke-ConnectionProfiles}
    management_addresses = ${function:Invoke-ManagementAddresses}
    adapter_binding_set = ${function:Invoke-AdapterBindingSet}
    winhttp_proxy_read = ${function:Invoke-WinHttpProxyRead}
    winhttp_proxy_write = ${function:Invoke-WinHttpProxyWrite}
    user_sessions = ${function:Invoke-UserSessions}
    registry_read_user_hives = ${function:Invoke-RegistryReadUserHives}
    system_info = ${function:Invoke-SystemInfo}
    file_stat = ${function:Invoke-FileStat}
    file_read = ${function:Invoke-FileRead}
    dns_resolve = ${function:Invoke-DnsResolve}
    tcp_connect = ${function:Invoke-TcpConnect}
    tls_handshake = ${function:Invoke-TlsHandshake}
    http_request = ${function:Invoke-HttpRequest}
    wsman_config_read = ${function:Invoke-WsmanConfigRead}
    update_history = ${function:Invoke-UpdateHistory}
    registry_wait = ${function:Invoke-RegistryWait}
    process_list = ${function:Invoke-ProcessList}
    user_session_read = ${function:Invoke-UserSessionRead}
    user_session_write = ${function:Invoke-UserSessionWrite}
    profile_list = ${function:Invoke-ProfileList}
    user_hive_load = ${function:Invoke-UserHiveLoad}
    user_hive_unload = ${function:Invoke-UserHiveUnload}
    user_hive_unload_recorded = ${function:Invoke-UserHiveUnloadRecorded}
    directory_stat = ${function:Invoke-DirectoryStat}
    directory_remove = ${function:Invoke-DirectoryRemove}
}

# Ops that need the extended entry point's module_utils.
$ExtendedOps = @('tls_handshake', 'http_request', 'user_session_read', 'user_session_write', 'directory_stat', 'directory_remove')

Function Invoke-AgentOps {
    # Runs the module's ops in order and exits with one result per op. -Extended: the network probes and the
    # user-session script are loaded.
    param([object]$Module, [switch]$Extended)
    $results = New-Object -TypeName System.Collections.Generic.List[object]
    $failedOps = New-Object -TypeName System.Collections.Generic.List[string]
    $failedWrite = $null
    $failedGuard = $false
    $anyChanged = $false
    $index = 0
    # One batch that writes at a time on this host: a guard (expect) and the writes after it are not interleaved with
    # another run's. A mutex left by a process that died is taken over (AbandonedMutexException means acquired).
    $mutex = $null
    $writes = @($Module.Params.ops | Where-Object { $WriteOps -contains $_['op'] })
    if ($writes.Count -gt 0 -and -not $Module.CheckMode) {
        $mutex = New-Object -TypeName System.Threading.Mutex -ArgumentList $false, 'Global\m365ops-activation-agent'
        try {
            if (-not $mutex.WaitOne(120000)) {
                $Module.FailJson('another execution of the m365ops.activation agent has held this host for two minutes; nothing was changed')
            }
        }
        catch [System.Threading.AbandonedMutexException] {
            # The process that held it ended without releasing it: this execution holds it now.
            Write-Verbose -Message 'm365ops.activation: took over a mutex an ended agent held'
        }
    }
    foreach ($op in $Module.Params.ops) {
        $name = $op['op']
        $isWrite = $WriteOps -contains $name
        # A write marked 'always' runs after a failed write too (the batch's closing bookkeeping, its journal entry), but
        # not after a failed guard (expect): then nothing of the batch may happen.
        $always = ($op['always'] -is [bool]) -and $op['always'] -and -not $failedGuard
        if ($isWrite -and $null -ne $failedWrite -and -not $always) {
            $results.Add(@{ ok = $false; op = $name; error = 'skipped'; message = "not run: write op $failedWrite failed earlier in this batch" })
            $failedOps.Add("#$index ($name): skipped")
            $index++
            continue
        }
        try {
            if (-not $name -or -not $Handlers.ContainsKey([string]$name)) {
                if (-not $name) {
                    throw (New-AgentError -Class 'invalid_argument' -Message "op #$index must be a mapping with an 'op' name")
                }
                throw (New-AgentError -Class 'unknown_op' -Message "op '$name' is not known to agent protocol $ProtocolVersion")
            }
            if (-not $Extended -and $ExtendedOps -contains [string]$name) {
                throw (New-AgentError -Class 'unknown_op' -Message "op '$name' runs in m365ops.activation.win_agent_extended only")
            }
            $data = & $Handlers[[string]$name] -Op $op -Apply (-not $Module.CheckMode)
            $entry = @{ ok = $true; op = $name }
            foreach ($field in $data.Keys) {
                $entry[$field] = $data[$field]
            }
            if ($isWrite -and $data['changed']) {
                $anyChanged = $true
                if ($Module.CheckMode) {
                    $entry.check_mode = $true
                }
            }
            $results.Add($entry)
        }
        catch {
            $errorClass = $_.Exception.Data['AgentErrorClass']
            if (-not $errorClass) {
                $errorClass = 'host_error'
            }
            $failure = @{ ok = $false; op = $name; error = $errorClass; message = $_.Exception.Message }
            if ($_.Exception.Data.Contains('Win32Error')) {
                $failure.win32_error = $_.Exception.Data['Win32Error']
            }
            if ($_.Exception.Data.Contains('ExitCode')) {
                $failure.exit_code = $_.Exception.Data['ExitCode']
            }
            $results.Add($failure)
            $failedOps.Add("#$index ($name): $errorClass")
            if ($isWrite) {
                $failedWrite = "#$index ($name)"
                $failedGuard = $failedGuard -or ($name -eq 'expect')
            }
        }
        $index++
    }

    if ($null -ne $mutex) {
        $mutex.ReleaseMutex()
        $mutex.Dispose()
    }
    $Module.Result.protocol = $ProtocolVersion
    $Module.Result.results = @($results)
    $Module.Result.changed = $anyChanged
    if ($Module.Params.strict -and $failedOps.Count -gt 0) {
        # Called directly, a failed op fails the task; the collection's action plugins pass strict=false and judge each op.
        $Module.FailJson("$($failedOps.Count) of $($results.Count) ops failed: $($failedOps -join ', ')")
    }
    $Module.ExitJson()
}

Export-ModuleMember -Function @('Invoke-AgentOps')
