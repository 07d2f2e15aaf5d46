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

    public static class UserHttp
    {
        // One GET as the user's own WinHTTP client makes it (review G6): the automatic proxy (the user's proxy settings
        // and their credentials) on Windows 8.1 and later, the WinHTTP default proxy before. A proxy's NTLM or Negotiate
        // challenge is answered once with the user's logon credentials. Redirects are not followed.
        [DllImport("winhttp.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern IntPtr WinHttpOpen(string agent, UInt32 accessType, string proxy, string bypass, UInt32 flags);

        [DllImport("winhttp.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern IntPtr WinHttpConnect(IntPtr session, string server, UInt16 port, UInt32 reserved);

        [DllImport("winhttp.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern IntPtr WinHttpOpenRequest(IntPtr connect, string verb, string path, string version, string referrer,
            IntPtr acceptTypes, UInt32 flags);

        [DllImport("winhttp.dll", SetLastError = true)]
        private static extern bool WinHttpSetTimeouts(IntPtr handle, int resolve, int connect, int send, int receive);

        [DllImport("winhttp.dll", SetLastError = true)]
        private static extern bool WinHttpSetOption(IntPtr handle, UInt32 option, ref UInt32 value, UInt32 length);

        [DllImport("winhttp.dll", SetLastError = true)]
        private static extern bool WinHttpSendRequest(IntPtr request, IntPtr headers, UInt32 headersLength, IntPtr optional,
            UInt32 optionalLength, UInt32 totalLength, UIntPtr context);

        [DllImport("winhttp.dll", SetLastError = true)]
        private static extern bool WinHttpReceiveResponse(IntPtr request, IntPtr reserved);

        [DllImport("winhttp.dll", SetLastError = true)]
        private static extern bool WinHttpQueryHeaders(IntPtr request, UInt32 infoLevel, IntPtr name, ref UInt32 buffer, ref UInt32 length,
            IntPtr index);

        [DllImport("winhttp.dll", SetLastError = true)]
        private static extern bool WinHttpQueryAuthSchemes(IntPtr request, out UInt32 supported, out UInt32 first, out UInt32 target);

        [DllImport("winhttp.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern bool WinHttpSetCredentials(IntPtr request, UInt32 target, UInt32 scheme, string user, string password,
            IntPtr reserved);

        [DllImport("winhttp.dll")]
        private static extern bool WinHttpCloseHandle(IntPtr handle);

        private const UInt32 AccessDefault = 0;
        private const UInt32 AccessAutomatic = 4;
        private const UInt32 FlagSecure = 0x00800000;
        private const UInt32 OptionDisableFeature = 63;
        private const UInt32 DisableRedirects = 0x2;
        private const UInt32 OptionAutologonPolicy = 77;
        private const UInt32 AutologonLow = 0;
        private const UInt32 QueryStatusCode = 19;
        private const UInt32 QueryFlagNumber = 0x20000000;
        private const UInt32 AuthNtlm = 0x2;
        private const UInt32 AuthNegotiate = 0x10;
        private const int ErrorInvalidParameter = 87;

        public static Hashtable Get(string url, string agent, int timeoutMs)
        {
            Hashtable answer = new Hashtable();
            Uri uri = new Uri(url);
            answer["url"] = url;
            answer["access_type"] = "automatic";
            answer["credentials_offered"] = false;
            IntPtr session = WinHttpOpen(agent, AccessAutomatic, null, null, 0);
            if (session == IntPtr.Zero && Marshal.GetLastWin32Error() == ErrorInvalidParameter)
            {
                // Before Windows 8.1 WinHTTP has no automatic proxy: its default proxy is what the user's client gets.
                answer["access_type"] = "default";
                session = WinHttpOpen(agent, AccessDefault, null, null, 0);
            }
            IntPtr connect = IntPtr.Zero;
            IntPtr request = IntPtr.Zero;
            try
            {
                if (session == IntPtr.Zero)
                    return Failed(answer);
                WinHttpSetTimeouts(session, timeoutMs, timeoutMs, timeoutMs, timeoutMs);
                connect = WinHttpConnect(session, uri.Host, (UInt16)uri.Port, 0);
                if (connect == IntPtr.Zero)
                    return Failed(answer);
                request = WinHttpOpenRequest(connect, "GET", uri.PathAndQuery, null, null, IntPtr.Zero, uri.Scheme == "https" ? FlagSecure : 0);
                if (request == IntPtr.Zero)
                    return Failed(answer);
                UInt32 policy = AutologonLow;
                WinHttpSetOption(request, OptionAutologonPolicy, ref policy, 4);
                UInt32 feature = DisableRedirects;
                WinHttpSetOption(request, OptionDisableFeature, ref feature, 4);
                UInt32 status = Send(request);
                if (status == 407)
                {
                    UInt32 supported;
                    UInt32 first;
                    UInt32 target;
                    if (WinHttpQueryAuthSchemes(request, out supported, out first, out target))
                    {
                        UInt32 scheme = (supported & AuthNegotiate) != 0 ? AuthNegotiate : ((supported & AuthNtlm) != 0 ? AuthNtlm : 0);
                        // No name and no password: the credentials of the user's own logon.
                        if (scheme != 0 && WinHttpSetCredentials(request, target, scheme, null, null, IntPtr.Zero))
                        {
                            answer["credentials_offered"] = true;
                            status = Send(request);
                        }
                    }
                }
                if (status == 0)
                    return Failed(answer);
                answer["status"] = (int)status;
                answer["error_code"] = 0;
                return answer;
            }
            finally
            {
                if (request != IntPtr.Zero)
                    WinHttpCloseHandle(request);
                if (connect != IntPtr.Zero)
                    WinHttpCloseHandle(connect);
                if (session != IntPtr.Zero)
                    WinHttpCloseHandle(session);
            }
        }

        private static UInt32 Send(IntPtr request)
        {
            if (!WinHttpSendRequest(request, IntPtr.Zero, 0, IntPtr.Zero, 0, 0, UIntPtr.Zero) || !WinHttpReceiveResponse(request, IntPtr.Zero))
                return 0;
            UInt32 status = 0;
            UInt32 length = 4;
            if (!WinHttpQueryHeaders(request, QueryStatusCode | QueryFlagNumber, IntPtr.Zero, ref status, ref length, IntPtr.Zero))
                return 0;
            return status;
        }

        private static Hashtable Failed(Hashtable answer)
        {
            // Read before any other call can overwrite it: the ERROR_WINHTTP_* code of the step that failed.
            answer["error_code"] = Marshal.GetLastWin32Error();
            answer["status"] = 0;
            return answer;
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
    # One user op: credential_list, work_account, directory_stat, http_get to read; credential_delete (target, type) and
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
    if ($name -eq 'http_get') {
        # The URL and the user agent come from the agent, which checked them; the wait is bounded here too.
        $url = [string]$Op['url']
        $timeout = [int]$Op['timeout_ms']
        if ($url -cnotmatch '^https?://[A-Za-z0-9._\-]+(:[0-9]{1,5})?/[!-~]*\z' -or $timeout -lt 100 -or $timeout -gt 60000) {
            return @{ ok = $false; op = $name; error = 'invalid_argument'; message = 'http_get takes an http(s) URL and timeout_ms of 100 to 60000' }
        }
        $answer = [M365OpsActivation.UserHttp]::Get($url, [string]$Op['user_agent'], $timeout)
        return @{ ok = $true; op = $name; url = $url; status = $answer['status']; error_code = $answer['error_code']
            access_type = $answer['access_type']; credentials_offered = $answer['credentials_offered'] }
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
