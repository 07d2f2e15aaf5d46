# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

<#
.SYNOPSIS
The ops run in users' own sessions (extended entry point only).

.DESCRIPTION
Reads and writes run in each signed-in user's own session through a short-lived scheduled task carrying the user's
interactive token; the task runs UserSession.psm1's functions. Only win_agent_extended ships them. No policy here: ops
in, one result per op out; no localized text is parsed for meaning.

.NOTES
Requires UserSession.psm1 (the entry point loads it).
#>
#AnsibleRequires -PowerShell ..module_utils.AgentDispatch
#AnsibleRequires -PowerShell ..module_utils.AgentUsers

# What may run in a user's session, by kind: a read op may go in user_session_read, a write op in user_session_write.
$UserReadOps = @('credential_list', 'directory_stat', 'work_account', 'http_get')

$UserWriteOps = @('credential_delete', 'directory_remove')

# The functions of UserSession.psm1 the task's script carries (their text is copied into it).
$UserSessionFunctions = @('Initialize-UserCredentialType', 'Invoke-UserOp', 'Get-UserDirectories', 'Remove-UserDirectory', 'Invoke-UserOps')

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
        # PowerShell 7 (.NET Core) has no SetAccessControl method on DirectoryInfo, only the extension method (G3).
        if ($PSVersionTable.PSEdition -eq 'Core') {
            [System.IO.FileSystemAclExtensions]::SetAccessControl($directory, $acl)
        }
        else {
            $directory.SetAccessControl($acl)
        }
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
        # One named task folder, \m365ops, so an EDR product can allow-list the collection's tasks by path (G23).
        try {
            $folder = $service.GetFolder('\m365ops')
        }
        catch {
            try {
                $folder = $service.GetFolder('\').CreateFolder('m365ops')
            }
            catch {
                # Another execution created it in the meantime.
                $folder = $service.GetFolder('\m365ops')
            }
        }
        $definition = $service.NewTask(0)
        $definition.Settings.Hidden = $true
        $definition.Settings.DisallowStartIfOnBatteries = $false
        $definition.Settings.StopIfGoingOnBatteries = $false
        $definition.Settings.ExecutionTimeLimit = 'PT' + [string]($TimeoutSeconds + 60) + 'S'
        # TASK_LOGON_INTERACTIVE_TOKEN: the user's own session, without the user's password. The principal by SID: a name
        # Task Scheduler cannot look up (an Entra ID account, a bare name) would fail the registration (G7).
        $definition.Principal.UserId = [string]$Session['sid']
        $definition.Principal.LogonType = 3
        $definition.Principal.RunLevel = 0
        $action = $definition.Actions.Create(0)
        $action.Path = Join-Path -Path $env:SystemRoot -ChildPath 'System32\WindowsPowerShell\v1.0\powershell.exe'
        # The script's text as a command, not -File: an execution policy set by Group Policy (AllSigned) overrides
        # -ExecutionPolicy for script files, never for commands (G8).
        $action.Arguments = '-NoProfile -NonInteractive -WindowStyle Hidden -ExecutionPolicy Bypass -Command "& ([scriptblock]::Create([System.IO.File]::ReadAllText(''' + $scriptPath + ''')))"'
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
            # Deleting a task does not end its running instance: stop it first, so nothing it would still do happens
            # after the controller was told there was no answer (G9).
            try {
                $task.Stop(0)
                $entry['stopped'] = $true
            }
            catch {
                $entry['stopped'] = $false
            }
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
    $listed = Invoke-UserSessions -Op @{} -Apply $false
    foreach ($session in @($listed.sessions)) {
        if ($seen.ContainsKey($session['sid']) -or ($only.Count -gt 0 -and $only -notcontains $session['sid'])) {
            continue
        }
        $seen[$session['sid']] = $true
        $answers.Add((Invoke-InUserSession -Session $session -UserOps $userOps -TimeoutSeconds $timeout -Apply $Apply))
    }
    if ($only.Count -eq 0) {
        # A signed-in user whose SID could not be told is not reached, and is said so: never left out in silence.
        foreach ($session in @($listed.unresolved)) {
            $answers.Add(@{ sid = $null; user = $session['user']; session_id = $session['session_id']; ok = $false; output = $null
                error = 'not_found'; message = 'the SID of this session''s user could not be found, so no task was started in it' })
        }
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

Function Get-AgentUserTasksOps {
    # This family's ops by name, for Invoke-AgentOps: each handler takes -Op (the op's arguments) and -Apply.
    return @{
        directory_remove = ${function:Invoke-DirectoryRemove}
        directory_stat = ${function:Invoke-DirectoryStat}
        user_session_read = ${function:Invoke-UserSessionRead}
        user_session_write = ${function:Invoke-UserSessionWrite}
    }
}

Export-ModuleMember -Function @('Get-AgentUserTasksOps')
