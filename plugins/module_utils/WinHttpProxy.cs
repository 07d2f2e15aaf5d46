// Copyright: m365ops.activation contributors
// GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

// The WinHTTP default proxy through its API (WinHttpGet/SetDefaultProxyConfiguration), as
// 'netsh winhttp set proxy' uses it. The registry blob behind it is undocumented and never written.

using System;
using System.ComponentModel;
using System.Runtime.InteropServices;

namespace ansible_collections.m365ops.activation.plugins.module_utils.WinHttpProxy
{
    public class ProxyConfiguration
    {
        // 1 = no proxy (direct access), 3 = named proxy.
        public int AccessType;
        public string Proxy;
        public string Bypass;
    }

    internal static class NativeMethods
    {
        [StructLayout(LayoutKind.Sequential)]
        public struct WINHTTP_PROXY_INFO
        {
            public UInt32 dwAccessType;
            public IntPtr lpszProxy;
            public IntPtr lpszProxyBypass;
        }

        [DllImport("winhttp.dll", SetLastError = true)]
        public static extern bool WinHttpGetDefaultProxyConfiguration(ref WINHTTP_PROXY_INFO pProxyInfo);

        [DllImport("winhttp.dll", SetLastError = true)]
        public static extern bool WinHttpSetDefaultProxyConfiguration(ref WINHTTP_PROXY_INFO pProxyInfo);

        [DllImport("kernel32.dll")]
        public static extern IntPtr GlobalFree(IntPtr hMem);
    }

    public static class DefaultProxy
    {
        public const int AccessTypeNoProxy = 1;
        public const int AccessTypeNamedProxy = 3;

        public static ProxyConfiguration Get()
        {
            NativeMethods.WINHTTP_PROXY_INFO info = new NativeMethods.WINHTTP_PROXY_INFO();
            if (!NativeMethods.WinHttpGetDefaultProxyConfiguration(ref info))
                throw new Win32Exception(Marshal.GetLastWin32Error());
            try
            {
                ProxyConfiguration configuration = new ProxyConfiguration();
                configuration.AccessType = (int)info.dwAccessType;
                configuration.Proxy = info.lpszProxy == IntPtr.Zero ? null : Marshal.PtrToStringUni(info.lpszProxy);
                configuration.Bypass = info.lpszProxyBypass == IntPtr.Zero ? null : Marshal.PtrToStringUni(info.lpszProxyBypass);
                return configuration;
            }
            finally
            {
                // The strings are allocated by WinHTTP with GlobalAlloc; the caller frees them.
                if (info.lpszProxy != IntPtr.Zero)
                    NativeMethods.GlobalFree(info.lpszProxy);
                if (info.lpszProxyBypass != IntPtr.Zero)
                    NativeMethods.GlobalFree(info.lpszProxyBypass);
            }
        }

        public static void Set(int accessType, string proxy, string bypass)
        {
            NativeMethods.WINHTTP_PROXY_INFO info = new NativeMethods.WINHTTP_PROXY_INFO();
            info.dwAccessType = (UInt32)accessType;
            info.lpszProxy = string.IsNullOrEmpty(proxy) ? IntPtr.Zero : Marshal.StringToHGlobalUni(proxy);
            info.lpszProxyBypass = string.IsNullOrEmpty(bypass) ? IntPtr.Zero : Marshal.StringToHGlobalUni(bypass);
            try
            {
                if (!NativeMethods.WinHttpSetDefaultProxyConfiguration(ref info))
                    throw new Win32Exception(Marshal.GetLastWin32Error());
            }
            finally
            {
                if (info.lpszProxy != IntPtr.Zero)
                    Marshal.FreeHGlobal(info.lpszProxy);
                if (info.lpszProxyBypass != IntPtr.Zero)
                    Marshal.FreeHGlobal(info.lpszProxyBypass);
            }
        }
    }
}
