# Copyright: m365ops.activation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# What the agent runs inside a signed-in user's own session. Credential Manager, HKCU and %LOCALAPPDATA% belong to that
# session, which a WinRM network logon cannot see; the agent starts a short-lived scheduled task with the user's
# interactive token and runs these functions there (their text is copied into the task's script, so they use nothing
# but each other and .NET). No policy here either: ops in, results out, as JSON in a file the agent reads back.

Function Initialize-UserCredentialType {
    # CredEnumerate / CredDelete of the calling user's logon session (the secret, CredentialBlob, is never read), and the
    # Entra ID join Windows reports to that user (NetGetAadJoinInformation).
    if ('M365OpsActivation.UserCredentials' -as [type]) {
        return
    }
    $source = @'
using System;
using System.Collections;
using System.Collections.Generic;
using System.ComponentModel;
using System.Runtime.InteropServices;

namespace M365OpsActivation
{
    public static class UserCredentials
    {
        [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
        private struct CREDENTIAL
        {
            public UInt32 Flags;
            public UInt32 Type;
            public IntPtr TargetName;
            public IntPtr Comment;
            public System.Runtime.InteropServices.ComTypes.FILETIME LastWritten;
            public UInt32 CredentialBlobSize;
            public IntPtr CredentialBlob;
            public UInt32 Persist;
            public UInt32 AttributeCount;
            public IntPtr Attributes;
            public IntPtr TargetAlias;
            public IntPtr UserName;
        }

        [DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool CredEnumerateW(string filter, UInt32 flags, out UInt32 count, out IntPtr credentials);

        [DllImport("advapi32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool CredDeleteW(string target, UInt32 type, UInt32 flags);

        [DllImport("advapi32.dll")]
        private static extern void CredFree(IntPtr buffer);

        private const int ErrorNotFound = 1168;

        public static Hashtable[] List()
        {
            UInt32 count;
            IntPtr buffer;
            if (!CredEnumerateW(null, 0, out count, out buffer))
            {
                int error = Marshal.GetLastWin32Error();
                if (error == ErrorNotFound)
                    return new Hashtable[0];
                throw new Win32Exception(error);
            }
            try
            {
                List<Hashtable> found = new List<Hashtable>();
                for (int index = 0; index < count; index++)
                {
                    IntPtr entry = Marshal.ReadIntPtr(buffer, index * IntPtr.Size);
                    CREDENTIAL credential = (CREDENTIAL)Marshal.PtrToStructure(entry, typeof(CREDENTIAL));
                    long written = ((long)credential.LastWritten.dwHighDateTime << 32) | (uint)credential.LastWritten.dwLowDateTime;
                    Hashtable item = new Hashtable();
                    item["target"] = Marshal.PtrToStringUni(credential.TargetName);
                    item["type"] = (int)credential.Type;
                    item["persist"] = (int)credential.Persist;
                    item["user_name"] = credential.UserName == IntPtr.Zero ? null : Marshal.PtrToStringUni(credential.UserName);
                    item["last_written"] = DateTime.FromFileTimeUtc(written).ToString("yyyy-MM-ddTHH:mm:ssZ",
                                                                                       System.Globalization.CultureInfo.InvariantCulture);
                    found.Add(item);
                }
                return found.ToArray();
            }
            finally
            {
                CredFree(buffer);
            }
        }

        public static bool Delete(string target, int type)
        {
            if (CredDeleteW(target, (UInt32)type, 0))
                return true;
            int error = Marshal.GetLastWin32Error();
            if (error == ErrorNotFound)
                return false;
            throw new Win32Exception(error);
        }
    }

    public static class WorkAccount
    {
        // DSREG_JOIN_INFO (lmjoin.h); only the names are read, never the certificate.
        [StructLayout(LayoutKind.Sequential)]
        private struct JOIN_INFO
        {
            public Int32 JoinType;
            public IntPtr JoinCertificate;
            public IntPtr DeviceId;
            public IntPtr IdpDomain;
            public IntPtr TenantId;
            public IntPtr JoinUserEmail;
            public IntPtr TenantDisplayName;
            public IntPtr MdmEnrollmentUrl;
            public IntPtr MdmTermsOfUseUrl;
            public IntPtr MdmComplianceUrl;
            public IntPtr UserSettingSyncUrl;
            public IntPtr UserInfo;
        }

        [DllImport("netapi32.dll", CharSet = CharSet.Unicode)]
        private static extern int NetGetAadJoinInformation(string tenantId, out IntPtr joinInfo);

        [DllImport("netapi32.dll")]
        private static extern void NetFreeAadJoinInformation(IntPtr joinInfo);

        private static string Text(IntPtr value)
        {
            return value == IntPtr.Zero ? null : Marshal.PtrToStringUni(value);
        }

        // The join Windows reports to the calling user: the device's Entra ID join, else the work or school account the
        // user added (Workplace Join); join is null when there is neither. Windows before 10 has no such API.
        public static Hashtable Read()
        {
            Hashtable answer = new Hashtable();
            IntPtr buffer;
            int result;
            try
            {
                result = NetGetAadJoinInformation(null, out buffer);
            }
            catch (EntryPointNotFoundException)
            {
                answer["supported"] = false;
                answer["join"] = null;
                return answer;
            }
            if (result != 0)
                Marshal.ThrowExceptionForHR(result);
            answer["supported"] = true;
            answer["join"] = buffer == IntPtr.Zero ? null : Join(buffer);
            return answer;
        }

        private static Hashtable Join(IntPtr buffer)
        {
            try
            {
                JOIN_INFO info = (JOIN_INFO)Marshal.PtrToStructure(buffer, typeof(JOIN_INFO));
                Hashtable answer = new Hashtable();
                answer["join_type"] = info.JoinType == 1 ? "device" : (info.JoinType == 2 ? "workplace" : "unknown");
                answer["tenant_id"] = Text(info.TenantId);
                answer["tenant_name"] = Text(info.TenantDisplayName);
                answer["idp_domain"] = Text(info.IdpDomain);
                answer["join_user_email"] = Text(info.JoinUserEmail);
                answer["user_email"] = info.UserInfo == IntPtr.Zero ? null : Text(Marshal.ReadIntPtr(info.UserInfo));
                return answer;
            }
            finally
            {
                NetFreeAadJoinInformation(buffer);
            }
        }
    }
}
'@
    Add-Type -TypeDefinition $source
}

Function Invoke-UserOp {
    # One user op: credential_list, work_account, directory_stat to read; credential_delete (target, type) and
    # directory_remove (path, move_to) to write, which in check mode report what would go.
    param([System.Collections.IDictionary]$Op, [bool]$Apply)
    $name = [string]$Op['op']
    if ($name -eq 'credential_list') {
        return @{ ok = $true; op = $name; credentials = @([M365OpsActivation.UserCredentials]::List()) }
    }
    if ($name -eq 'credential_delete') {
        $target = [string]$Op['target']
        $type = [int]$Op['type']
        $present = @([M365OpsActivation.UserCredentials]::List() | Where-Object { $_['target'] -eq $target -and $_['type'] -eq $type }).Count -gt 0
        if ($present -and $Apply) {
            $present = [M365OpsActivation.UserCredentials]::Delete($target, $type)
        }
        return @{ ok = $true; op = $name; target = $target; type = $type; changed = $present }
    }
    if ($name -eq 'directory_stat') {
        return @{ ok = $true; op = $name; directories = (Get-UserDirectories -Paths @($Op['paths'])) }
    }
    if ($name -eq 'work_account') {
        $answer = [M365OpsActivation.WorkAccount]::Read()
        return @{ ok = $true; op = $name; supported = $answer['supported']; join = $answer['join'] }
    }
    if ($name -eq 'directory_remove') {
        return (Remove-UserDirectory -Path ([string]$Op['path']) -MoveTo ([string]$Op['move_to']) -Apply $Apply)
    }
    return @{ ok = $false; op = $name; error = 'unknown_op'; message = "op '$name' does not run in a user session" }
}

Function Get-UserDirectories {
    # Each path, its environment variables expanded in the user's own session (%LOCALAPPDATA% is theirs): whether it
    # exists, its files (relative names, at most 500 listed) and their count and size.
    param([object[]]$Paths)
    $answer = @{}
    foreach ($path in $Paths) {
        $expanded = [Environment]::ExpandEnvironmentVariables([string]$path)
        $entry = @{ expanded = $expanded; exists = [System.IO.Directory]::Exists($expanded); files = @(); file_count = 0; bytes = 0 }
        if ($entry['exists']) {
            $all = @([System.IO.Directory]::GetFiles($expanded, '*', [System.IO.SearchOption]::AllDirectories))
            $entry['file_count'] = $all.Count
            $entry['bytes'] = [long]0
            foreach ($file in $all) {
                $entry['bytes'] += (New-Object -TypeName System.IO.FileInfo -ArgumentList $file).Length
            }
            $entry['files'] = @($all | Select-Object -First 500 | ForEach-Object { $_.Substring($expanded.TrimEnd('\').Length + 1) })
        }
        $answer[[string]$path] = $entry
    }
    return $answer
}

Function Remove-UserDirectory {
    # A directory of the user's removed, or moved to MoveTo (created; same volume) when given. Paths with fewer than
    # three parts (a drive or its first folders) are refused.
    param([string]$Path, [string]$MoveTo, [bool]$Apply)
    $expanded = [Environment]::ExpandEnvironmentVariables($Path)
    $target = $null
    if ($MoveTo) {
        $target = [Environment]::ExpandEnvironmentVariables($MoveTo)
    }
    if (-not [System.IO.Path]::IsPathRooted($expanded) -or @($expanded.TrimEnd('\').Split('\')).Count -lt 4) {
        return @{ ok = $false; op = 'directory_remove'; error = 'invalid_argument'; message = "refusing to remove '$expanded'" }
    }
    if (-not [System.IO.Directory]::Exists($expanded)) {
        return @{ ok = $true; op = 'directory_remove'; path = $Path; changed = $false }
    }
    if ($Apply) {
        if ($target) {
            [void][System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($target))
            [System.IO.Directory]::Move($expanded, $target)
        }
        else {
            [System.IO.Directory]::Delete($expanded, $true)
        }
    }
    return @{ ok = $true; op = 'directory_remove'; path = $Path; changed = $true; moved_to = $target }
}

Function Invoke-UserOps {
    # The task's entry point: the ops from OpsPath, one result each (a failed op does not stop the rest), to OutputPath;
    # then DonePath says the answer is whole. Both files exist already: the user may write them, nothing else in the folder.
    param([string]$OpsPath, [string]$OutputPath, [string]$DonePath, [bool]$Apply)
    $results = New-Object -TypeName System.Collections.Generic.List[object]
    try {
        Initialize-UserCredentialType
        $request = Get-Content -LiteralPath $OpsPath -Raw -Encoding UTF8 | ConvertFrom-Json
        foreach ($item in @($request.ops)) {
            $op = @{}
            foreach ($property in $item.PSObject.Properties) {
                $op[$property.Name] = $property.Value
            }
            try {
                $results.Add((Invoke-UserOp -Op $op -Apply $Apply))
            }
            catch {
                $results.Add(@{ ok = $false; op = [string]$op['op']; error = 'host_error'; message = $_.Exception.Message })
            }
        }
        $answer = @{ ok = $true; results = @($results) }
    }
    catch {
        $answer = @{ ok = $false; error = 'host_error'; message = $_.Exception.Message; results = @($results) }
    }
    # The answer, then the mark that it is whole: the agent waits for the mark.
    $json = ConvertTo-Json -InputObject $answer -Depth 6 -Compress
    $utf8 = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    [System.IO.File]::WriteAllText($OutputPath, $json, $utf8)
    [System.IO.File]::WriteAllText($DonePath, '1', $utf8)
}

Export-ModuleMember -Function @('Initialize-UserCredentialType', 'Invoke-UserOp', 'Get-UserDirectories', 'Remove-UserDirectory', 'Invoke-UserOps')
