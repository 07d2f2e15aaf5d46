# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

<#
.SYNOPSIS
The system and files family of ops.

.DESCRIPTION
The Windows release and boot time, files (existence, size, version, content), the WinRM service's quotas and the
update history. No policy here: ops in, one result per op out; no localized text is parsed for meaning.
#>
#AnsibleRequires -PowerShell ..module_utils.AgentDispatch
#AnsibleRequires -PowerShell ..module_utils.AgentRegistry

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

Function Invoke-WsmanConfigRead {
    # Values of the WinRM configuration (the WSMan: drive under localhost), as the text WinRM stores; null when absent.
    # A path that could not be read for another reason (access, the provider, WinRM stopped) is also under errors, by
    # exception type and HRESULT: unread is not absent (G22).
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $values = @{}
    $errors = @{}
    foreach ($path in @(Get-OpArg $Op 'paths')) {
        $path = [string]$path
        if ($path -notmatch '^[A-Za-z0-9_.]+(\\[A-Za-z0-9_.]+)*$') {
            throw (New-AgentError -Class 'invalid_argument' -Message "paths: '$path' is not a path below WSMan:\localhost")
        }
        $values[$path] = $null
        try {
            $item = Get-Item -LiteralPath ('WSMan:\localhost\' + $path) -ErrorAction Stop
            $values[$path] = [string]$item.Value
        }
        catch [System.Management.Automation.ItemNotFoundException] {
            $values[$path] = $null
        }
        catch {
            $errors[$path] = @{ type = $_.Exception.GetType().FullName; hresult = $_.Exception.HResult }
        }
    }
    return @{ values = $values; errors = $errors }
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

Function Get-AgentSystemOps {
    # This family's ops by name, for Invoke-AgentOps: each handler takes -Op (the op's arguments) and -Apply.
    return @{
        file_read = ${function:Invoke-FileRead}
        file_stat = ${function:Invoke-FileStat}
        system_info = ${function:Invoke-SystemInfo}
        update_history = ${function:Invoke-UpdateHistory}
        wsman_config_read = ${function:Invoke-WsmanConfigRead}
    }
}

Export-ModuleMember -Function @('Get-AgentSystemOps')
