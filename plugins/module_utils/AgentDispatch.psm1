# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

<#
.SYNOPSIS
The agent's dispatcher.

.DESCRIPTION
Runs a batch of primitive ops in order, one result per op, with the protocol's rules: a failed read does not stop
later ops, the first failed write skips the writes after it (but those marked always), and a batch that writes holds
the host's agent mutex. Also the helpers every family uses to read an op's arguments and raise the protocol's error
classes. The ops themselves come from the family modules the entry point ships. No policy here: ops in, one result per
op out; no localized text is parsed for meaning.
#>

$ProtocolVersion = 1

$WriteOps = @('expect', 'user_hive_unload_recorded', 'registry_write', 'registry_delete_value', 'registry_delete_key', 'service_set_start_mode', 'service_start', 'service_stop', 'process_run', 'adapter_binding_set', 'winhttp_proxy_write', 'user_session_write', 'directory_remove')

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

Function Invoke-AgentOps {
    # Runs the module's ops in order and exits with one result per op. -Families: the op tables (name to handler) of the
    # family modules the entry point ships; an op of a family it does not ship is unknown_op.
    param([object]$Module, [System.Collections.IDictionary[]]$Families)
    $handlers = @{}
    foreach ($family in $Families) {
        foreach ($opName in $family.Keys) {
            $handlers[$opName] = $family[$opName]
        }
    }
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
            if (-not $name -or -not $handlers.ContainsKey([string]$name)) {
                if (-not $name) {
                    throw (New-AgentError -Class 'invalid_argument' -Message "op #$index must be a mapping with an 'op' name")
                }
                throw (New-AgentError -Class 'unknown_op' -Message ("op '$name' is not known to this entry point of agent protocol $ProtocolVersion " +
                        '(the network probes and the ops in users'' sessions run in m365ops.activation.win_agent_extended)'))
            }
            $data = & $handlers[[string]$name] -Op $op -Apply (-not $Module.CheckMode)
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

Export-ModuleMember -Function @('Get-OpArg', 'Get-OpTimeout', 'Get-OpView', 'New-AgentError')
