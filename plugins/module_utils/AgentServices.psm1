# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

<#
.SYNOPSIS
The services and processes family of ops.

.DESCRIPTION
Queries, configures, starts and stops services by short name (never display names, which are localized), runs programs
judged by their exit codes only, and lists running processes. No policy here: ops in, one result per op out; no
localized text is parsed for meaning.
#>
#AnsibleRequires -PowerShell ..module_utils.AgentDispatch
#AnsibleRequires -PowerShell ..module_utils.AgentRegistry

# sc.exe start= words for the protocol's start modes; sc.exe is judged by its exit code only.
$ScStartModes = @{ auto = 'auto'; delayed = 'delayed-auto'; manual = 'demand'; disabled = 'disabled' }

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
    # One argument as CommandLineToArgvW reads it back. Quoted only where it has to be (empty, or holding white space or
    # a quote), as .NET's ArgumentList does, so a program that parses its own command line (OfficeC2RClient.exe) gets
    # Microsoft's documented unquoted form (G16); where quoted, the backslashes before a quote (and before the closing
    # quote) are doubled, so a path ending in '\' does not swallow the quote.
    param([string]$Argument)
    if ($Argument.Length -gt 0 -and $Argument -notmatch '[\s"]') {
        return $Argument
    }
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

Function Get-AgentServicesOps {
    # This family's ops by name, for Invoke-AgentOps: each handler takes -Op (the op's arguments) and -Apply.
    return @{
        process_list = ${function:Invoke-ProcessList}
        process_run = ${function:Invoke-ProcessRun}
        service_query = ${function:Invoke-ServiceQuery}
        service_set_start_mode = ${function:Invoke-ServiceSetStartMode}
        service_start = ${function:Invoke-ServiceStart}
        service_stop = ${function:Invoke-ServiceStop}
    }
}

Export-ModuleMember -Function @('Invoke-ProcessRun', 'Get-AgentServicesOps')
