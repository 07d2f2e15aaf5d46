// Copyright: m365ops.activation contributors
// GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

// The sessions of this computer through the Remote Desktop Services API (WTSEnumerateSessionsW and
// WTSQuerySessionInformationW), which lists every session whatever its shell: a desktop with explorer.exe, a RemoteApp
// session (rdpshell.exe), a kiosk's or Shell Launcher's custom shell. No text of any session is interpreted here.

using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Runtime.InteropServices;

namespace ansible_collections.m365ops.activation.plugins.module_utils.Sessions
{
    public class SessionInfo
    {
        public int Id;
        // WTS_CONNECTSTATE_CLASS: 0 active, 1 connected, 2 connect query, 3 shadow, 4 disconnected, 5 idle, 6 listen,
        // 7 reset, 8 down, 9 init.
        public int State;
        public string WinStation;
        // Empty for a session nobody is signed in to (services, a listener, a console at the logon screen).
        public string User;
        public string Domain;
    }

    internal static class NativeMethods
    {
        [StructLayout(LayoutKind.Sequential)]
        public struct WTS_SESSION_INFO
        {
            public Int32 SessionId;
            public IntPtr pWinStationName;
            public Int32 State;
        }

        public const int WTSUserName = 5;
        public const int WTSDomainName = 7;

        [DllImport("wtsapi32.dll", SetLastError = true)]
        public static extern bool WTSEnumerateSessionsW(IntPtr hServer, Int32 reserved, Int32 version, out IntPtr ppSessionInfo,
            out Int32 pCount);

        [DllImport("wtsapi32.dll", SetLastError = true)]
        public static extern bool WTSQuerySessionInformationW(IntPtr hServer, Int32 sessionId, Int32 infoClass, out IntPtr ppBuffer,
            out Int32 pBytesReturned);

        [DllImport("wtsapi32.dll")]
        public static extern void WTSFreeMemory(IntPtr pMemory);
    }

    public static class Wts
    {
        // WTS_CURRENT_SERVER_HANDLE: this computer.
        private static readonly IntPtr CurrentServer = IntPtr.Zero;

        public static SessionInfo[] List()
        {
            IntPtr buffer;
            Int32 count;
            if (!NativeMethods.WTSEnumerateSessionsW(CurrentServer, 0, 1, out buffer, out count))
                throw new Win32Exception(Marshal.GetLastWin32Error());
            List<SessionInfo> sessions = new List<SessionInfo>();
            try
            {
                int size = Marshal.SizeOf(typeof(NativeMethods.WTS_SESSION_INFO));
                for (int index = 0; index < count; index++)
                {
                    IntPtr item = new IntPtr(buffer.ToInt64() + (long)index * size);
                    NativeMethods.WTS_SESSION_INFO info = (NativeMethods.WTS_SESSION_INFO)Marshal.PtrToStructure(item,
                        typeof(NativeMethods.WTS_SESSION_INFO));
                    SessionInfo session = new SessionInfo();
                    session.Id = info.SessionId;
                    session.State = info.State;
                    session.WinStation = info.pWinStationName == IntPtr.Zero ? "" : Marshal.PtrToStringUni(info.pWinStationName);
                    // A session that ended since the enumeration answers nothing: it is listed with no user.
                    session.User = Query(info.SessionId, NativeMethods.WTSUserName);
                    session.Domain = Query(info.SessionId, NativeMethods.WTSDomainName);
                    sessions.Add(session);
                }
            }
            finally
            {
                NativeMethods.WTSFreeMemory(buffer);
            }
            return sessions.ToArray();
        }

        private static string Query(int sessionId, int infoClass)
        {
            IntPtr buffer;
            Int32 bytes;
            if (!NativeMethods.WTSQuerySessionInformationW(CurrentServer, sessionId, infoClass, out buffer, out bytes))
                return "";
            try
            {
                return buffer == IntPtr.Zero ? "" : Marshal.PtrToStringUni(buffer);
            }
            finally
            {
                NativeMethods.WTSFreeMemory(buffer);
            }
        }
    }
}
