# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

<#
.SYNOPSIS
The registry family of ops.

.DESCRIPTION
Reads, writes, deletes, measures and waits on registry values and keys in either registry view, the values of every
loaded user hive, and the guard (expect) a batch is sent on. No policy here: ops in, one result per op out; no
localized text is parsed for meaning.
#>
#AnsibleRequires -PowerShell ..module_utils.AgentDispatch

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

Function Invoke-RegistryReadUserHives {
    # One subkey in every loaded user profile hive (HKEY_USERS\<SID>), or in those of sids, in one op: its named values,
    # or with tree=true every value of the subkey and below it (at most max_values in all).
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
    # Optional: only these SIDs' hives (one hive read while it alone is loaded for the read).
    $only = @(Get-OpArg -Op $Op -Name 'sids' -Optional | Where-Object { $null -ne $_ } | ForEach-Object { ([string]$_).ToUpperInvariant() })
    $users = [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::Users, [Microsoft.Win32.RegistryView]::Default)
    $hives = @{}
    try {
        foreach ($sid in $users.GetSubKeyNames()) {
            # Domain, local and Entra ID accounts; not service accounts, not the _Classes hives.
            if ($sid -notmatch '^S-1-(5-21|12-1)-[0-9-]+$' -or ($only.Count -gt 0 -and $only -notcontains $sid.ToUpperInvariant())) {
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

Function Get-AgentRegistryOps {
    # This family's ops by name, for Invoke-AgentOps: each handler takes -Op (the op's arguments) and -Apply.
    return @{
        expect = ${function:Invoke-Expect}
        registry_delete_key = ${function:Invoke-RegistryDeleteKey}
        registry_delete_value = ${function:Invoke-RegistryDeleteValue}
        registry_enum = ${function:Invoke-RegistryEnum}
        registry_read = ${function:Invoke-RegistryRead}
        registry_read_subkeys = ${function:Invoke-RegistryReadSubkeys}
        registry_read_user_hives = ${function:Invoke-RegistryReadUserHives}
        registry_tree_stat = ${function:Invoke-RegistryTreeStat}
        registry_wait = ${function:Invoke-RegistryWait}
        registry_write = ${function:Invoke-RegistryWrite}
    }
}

Export-ModuleMember -Function @('Get-RegistryValueData', 'Open-RegistryKey', 'Test-RegistryKey', 'Get-AgentRegistryOps')
