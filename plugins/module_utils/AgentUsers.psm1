# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

<#
.SYNOPSIS
The user sessions family of ops.

.DESCRIPTION
The interactive sessions and user profiles, and loading and unloading the hives of users who are not signed in, each
load remembered on the host until its unload. No policy here: ops in, one result per op out; no localized text is
parsed for meaning.
#>
#AnsibleRequires -PowerShell ..module_utils.AgentDispatch
#AnsibleRequires -PowerShell ..module_utils.AgentRegistry
#AnsibleRequires -PowerShell ..module_utils.AgentServices

# The hives user_hive_load loaded in this execution: user_hive_unload unloads only these.
$HivesLoaded = @{}

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

Function Get-ServiceAccountSid {
    # The SIDs of the user accounts services log on as (Win32_Service StartName translated): the built-in and virtual
    # service accounts are not user accounts and are skipped, as is a name that does not translate.
    $sids = @{}
    foreach ($service in @(Get-CimInstance -ClassName Win32_Service -Property StartName)) {
        $name = [string]$service.StartName
        if (-not $name -or $name -eq 'LocalSystem' -or $name -like 'NT AUTHORITY\*' -or $name -like 'NT SERVICE\*') {
            continue
        }
        if ($name.StartsWith('.\')) {
            $name = $env:COMPUTERNAME + $name.Substring(1)
        }
        try {
            $sid = (New-Object -TypeName System.Security.Principal.NTAccount -ArgumentList $name).Translate([System.Security.Principal.SecurityIdentifier]).Value
            $sids[[string]$sid] = $true
        }
        catch {
            continue
        }
    }
    return $sids
}

Function Invoke-ProfileList {
    # User profiles on this host (ProfileList): SID, profile directory, whether the hive is loaded under HKEY_USERS, and
    # whether the account is this agent's own (its logon loaded that hive) or one a service logs on as (G19).
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $own = [System.Security.Principal.WindowsIdentity]::GetCurrent().User.Value
    $services = Get-ServiceAccountSid
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
                    # Path.Combine, not Join-Path: Windows PowerShell's Join-Path throws for a drive that no longer exists,
                    # and one stale profile would fail the whole list (G11).
                    $hiveFile = [bool]$profilePath -and [System.IO.File]::Exists([System.IO.Path]::Combine($profilePath, 'NTUSER.DAT'))
                    $profiles.Add(@{ sid = $sid; path = $profilePath; loaded = ($loaded -contains $sid); hive_file = $hiveFile
                        self = ($sid -eq $own); service = $services.ContainsKey($sid) })
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
    $hiveFile = [System.IO.Path]::Combine($profilePath, 'NTUSER.DAT')
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

Function Get-SessionUserSid {
    # The SID of a session's user: the account name translated, else the owner of a process in that session whose SID is
    # a user account's (never Desktop Window Manager's S-1-5-90-*, the font driver's S-1-5-96-* or a service account's).
    param([int]$SessionId, [string]$Domain, [string]$User)
    try {
        $account = New-Object -TypeName System.Security.Principal.NTAccount -ArgumentList $User
        if ($Domain) {
            $account = New-Object -TypeName System.Security.Principal.NTAccount -ArgumentList $Domain, $User
        }
        return [string]$account.Translate([System.Security.Principal.SecurityIdentifier]).Value
    }
    catch {
        foreach ($process in @(Get-CimInstance -ClassName Win32_Process -Filter "SessionId = $SessionId")) {
            # A process that ended since the query answers nothing: the next one is asked (G12).
            $owner = Invoke-CimMethod -InputObject $process -MethodName GetOwnerSid -ErrorAction SilentlyContinue
            if ($null -ne $owner -and $owner.ReturnValue -eq 0 -and [string]$owner.Sid -match '^S-1-(5-21|12-1)-[0-9-]+$') {
                return [string]$owner.Sid
            }
        }
    }
    return $null
}

Function Invoke-UserSessions {
    # Users signed in interactively, from the Remote Desktop Services session list (Sessions.cs), whatever the shell of
    # their session: a desktop, a RemoteApp session, a kiosk (G2). Session 0 holds services; a listener or a logon screen
    # has no user; a session is counted while it is active (0) or disconnected (4), when its user's logon and hive remain.
    # Names are shown, never matched for meaning; a user is identified by SID.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $sessions = New-Object -TypeName System.Collections.Generic.List[object]
    $unresolved = New-Object -TypeName System.Collections.Generic.List[object]
    foreach ($session in [ansible_collections.m365ops.activation.plugins.module_utils.Sessions.Wts]::List()) {
        if ($session.Id -eq 0 -or -not $session.User -or ($session.State -ne 0 -and $session.State -ne 4)) {
            continue
        }
        $user = [string]$session.User
        if ($session.Domain) {
            $user = [string]$session.Domain + '\' + $user
        }
        $state = 'active'
        if ($session.State -eq 4) {
            $state = 'disconnected'
        }
        $sid = Get-SessionUserSid -SessionId $session.Id -Domain $session.Domain -User $session.User
        if (-not $sid) {
            # Nobody is guessed: the controller hears of a signed-in user it cannot reach.
            $unresolved.Add(@{ user = $user; session_id = [int]$session.Id; connect_state = $state })
            continue
        }
        $sessions.Add(@{ sid = $sid; user = $user; session_id = [int]$session.Id; connect_state = $state })
    }
    return @{ sessions = @($sessions); unresolved = @($unresolved) }
}

Function Get-AgentUsersOps {
    # This family's ops by name, for Invoke-AgentOps: each handler takes -Op (the op's arguments) and -Apply.
    return @{
        profile_list = ${function:Invoke-ProfileList}
        user_hive_load = ${function:Invoke-UserHiveLoad}
        user_hive_unload = ${function:Invoke-UserHiveUnload}
        user_hive_unload_recorded = ${function:Invoke-UserHiveUnloadRecorded}
        user_sessions = ${function:Invoke-UserSessions}
    }
}

Export-ModuleMember -Function @('Invoke-UserSessions', 'Get-AgentUsersOps')
