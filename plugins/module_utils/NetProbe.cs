// Copyright: m365ops.activation contributors
// GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

// Network probes from the host, for the endpoint check: a TLS 1.2 handshake through SChannel (SslStream) that records
// the certificate chain the host builds, and an HTTP request through WinHTTP with a chosen proxy and user agent.
// Each runs many targets at once and is bounded in total. Nothing here judges: results are numbers, enum names and
// certificate fields; the controller decides what they mean.

using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;

namespace ansible_collections.m365ops.activation.plugins.module_utils.NetProbe
{
    internal static class Clock
    {
        public static int Since(DateTime started)
        {
            return (int)(DateTime.UtcNow - started).TotalMilliseconds;
        }
    }

    public static class Parallel
    {
        // Runs work(index) for every index on its own thread and waits for all of them until the deadline. A result
        // still missing then is the timeout's entry; its thread is abandoned (each probe bounds its own sockets too).
        public static Hashtable[] Run(int count, int timeoutMs, Func<int, Hashtable> work, Func<int, Hashtable> timedOut)
        {
            Hashtable[] results = new Hashtable[count];
            Thread[] threads = new Thread[count];
            for (int index = 0; index < count; index++)
            {
                int mine = index;
                threads[index] = new Thread(delegate ()
                {
                    Hashtable answer;
                    try
                    {
                        answer = work(mine);
                    }
                    catch (Exception error)
                    {
                        // An exception left in a thread would end the whole process: it becomes this target's answer.
                        answer = timedOut(mine);
                        answer["error"] = error.GetType().Name;
                        answer["elapsed_ms"] = null;
                    }
                    lock (results)
                    {
                        results[mine] = answer;
                    }
                });
                threads[index].IsBackground = true;
                threads[index].Start();
            }
            DateTime deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
            foreach (Thread thread in threads)
            {
                int left = Math.Max(0, (int)(deadline - DateTime.UtcNow).TotalMilliseconds);
                thread.Join(left);
            }
            lock (results)
            {
                for (int index = 0; index < count; index++)
                {
                    if (results[index] == null)
                        results[index] = timedOut(index);
                }
                return (Hashtable[])results.Clone();
            }
        }
    }

    public static class Tls
    {
        // A TLS 1.2 handshake with host:port, directly or through an HTTP proxy's CONNECT tunnel. The certificate is
        // accepted whatever it is (nothing is sent after the handshake) so that the chain the host builds can be returned.
        public static Hashtable[] Handshake(string[] hosts, int[] ports, string proxy, int timeoutMs)
        {
            return Parallel.Run(hosts.Length, timeoutMs,
                delegate (int index) { return One(hosts[index], ports[index], proxy, timeoutMs); },
                delegate (int index) { return Failure(hosts[index], ports[index], "TimedOut", 0, timeoutMs); });
        }

        private static Hashtable Failure(string host, int port, string error, int code, int elapsed)
        {
            Hashtable result = new Hashtable();
            result["host"] = host;
            result["port"] = port;
            result["ok"] = false;
            result["error"] = error;
            result["error_code"] = code;
            result["elapsed_ms"] = elapsed;
            return result;
        }

        private static Hashtable One(string host, int port, string proxy, int timeoutMs)
        {
            DateTime started = DateTime.UtcNow;
            Hashtable result = Failure(host, port, null, 0, 0);
            TcpClient client = new TcpClient();
            try
            {
                client.SendTimeout = timeoutMs;
                client.ReceiveTimeout = timeoutMs;
                string connectTo = host;
                int connectPort = port;
                if (!string.IsNullOrEmpty(proxy))
                {
                    int colon = proxy.LastIndexOf(':');
                    connectTo = colon > 0 ? proxy.Substring(0, colon) : proxy;
                    connectPort = colon > 0 ? int.Parse(proxy.Substring(colon + 1)) : 80;
                    result["proxy"] = proxy;
                }
                client.Connect(connectTo, connectPort);
                Stream stream = client.GetStream();
                if (!string.IsNullOrEmpty(proxy))
                {
                    int status = Connect(stream, host, port);
                    result["proxy_status"] = status;
                    if (status != 200)
                    {
                        result["error"] = "ProxyRefused";
                        result["elapsed_ms"] = Clock.Since(started);
                        return result;
                    }
                }
                Hashtable seen = new Hashtable();
                RemoteCertificateValidationCallback record = delegate (object sender, X509Certificate certificate, X509Chain chain, SslPolicyErrors errors)
                {
                    seen["policy_errors"] = errors.ToString();
                    seen["chain"] = Elements(chain);
                    List<string> flags = new List<string>();
                    if (chain != null)
                    {
                        foreach (X509ChainStatus status in chain.ChainStatus)
                            flags.Add(status.Status.ToString());
                    }
                    seen["chain_status"] = flags.ToArray();
                    return true;
                };
                using (SslStream tls = new SslStream(stream, false, record))
                {
                    tls.AuthenticateAsClient(host, null, SslProtocols.Tls12, false);
                    result["ok"] = true;
                    result["protocol"] = tls.SslProtocol.ToString();
                }
                foreach (DictionaryEntry entry in seen)
                    result[entry.Key] = entry.Value;
            }
            catch (SocketException error)
            {
                result["error"] = error.SocketErrorCode.ToString();
                result["error_code"] = error.ErrorCode;
            }
            catch (AuthenticationException error)
            {
                result["error"] = "HandshakeFailed";
                Win32ErrorCode(result, error);
            }
            catch (IOException error)
            {
                SocketException inner = error.InnerException as SocketException;
                result["error"] = inner != null ? inner.SocketErrorCode.ToString() : "ConnectionClosed";
                result["error_code"] = inner != null ? inner.ErrorCode : 0;
            }
            catch (FormatException)
            {
                result["error"] = "InvalidProxy";
            }
            finally
            {
                client.Close();
            }
            result["elapsed_ms"] = Clock.Since(started);
            return result;
        }

        private static void Win32ErrorCode(Hashtable result, Exception error)
        {
            // SChannel's SEC_E_* code, when the exception carries one.
            for (Exception inner = error.InnerException; inner != null; inner = inner.InnerException)
            {
                System.ComponentModel.Win32Exception win32 = inner as System.ComponentModel.Win32Exception;
                if (win32 != null)
                {
                    result["error_code"] = win32.NativeErrorCode;
                    return;
                }
            }
        }

        private static int Connect(Stream stream, string host, int port)
        {
            // An HTTP CONNECT to the proxy; the status code of its answer (the reason text is not read for meaning).
            byte[] request = Encoding.ASCII.GetBytes("CONNECT " + host + ":" + port + " HTTP/1.1\r\nHost: " + host + ":" + port +
                                                     "\r\nUser-Agent: MSOIDCRL\r\n\r\n");
            stream.Write(request, 0, request.Length);
            StringBuilder head = new StringBuilder();
            int last = -1;
            while (head.Length < 8192)
            {
                int next = stream.ReadByte();
                if (next < 0)
                    break;
                head.Append((char)next);
                if (next == '\n' && last == '\n')
                    break;
                if (next != '\r')
                    last = next;
            }
            string[] words = head.ToString().Split(' ');
            int status;
            return words.Length > 1 && int.TryParse(words[1], out status) ? status : 0;
        }

        public static object[] Elements(X509Chain chain)
        {
            List<object> elements = new List<object>();
            if (chain == null)
                return elements.ToArray();
            foreach (X509ChainElement element in chain.ChainElements)
            {
                Hashtable certificate = new Hashtable();
                certificate["subject"] = element.Certificate.Subject;
                certificate["issuer"] = element.Certificate.Issuer;
                certificate["common_name"] = element.Certificate.GetNameInfo(X509NameType.SimpleName, false);
                certificate["thumbprint"] = element.Certificate.Thumbprint;
                certificate["not_after"] = element.Certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ",
                                                                                                     System.Globalization.CultureInfo.InvariantCulture);
                elements.Add(certificate);
            }
            return elements.ToArray();
        }
    }

    internal static class NativeMethods
    {
        [DllImport("winhttp.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        public static extern IntPtr WinHttpOpen(string agent, uint accessType, string proxy, string bypass, uint flags);

        [DllImport("winhttp.dll", SetLastError = true)]
        public static extern bool WinHttpSetTimeouts(IntPtr handle, int resolve, int connect, int send, int receive);

        [DllImport("winhttp.dll", SetLastError = true)]
        public static extern bool WinHttpSetOption(IntPtr handle, uint option, ref uint buffer, uint length);

        [DllImport("winhttp.dll", SetLastError = true)]
        public static extern bool WinHttpSetOption(IntPtr handle, uint option, IntPtr buffer, uint length);

        [DllImport("winhttp.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        public static extern IntPtr WinHttpConnect(IntPtr session, string server, ushort port, uint reserved);

        [DllImport("winhttp.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        public static extern IntPtr WinHttpOpenRequest(IntPtr connect, string verb, string objectName, string version, string referrer,
                                                       IntPtr acceptTypes, uint flags);

        [DllImport("winhttp.dll", SetLastError = true)]
        public static extern bool WinHttpSendRequest(IntPtr request, IntPtr headers, uint headersLength, IntPtr optional,
                                                     uint optionalLength, uint totalLength, UIntPtr context);

        [DllImport("winhttp.dll", SetLastError = true)]
        public static extern bool WinHttpReceiveResponse(IntPtr request, IntPtr reserved);

        [DllImport("winhttp.dll", SetLastError = true)]
        public static extern bool WinHttpQueryHeaders(IntPtr request, uint infoLevel, IntPtr name, ref uint buffer, ref uint length,
                                                      IntPtr index);

        [DllImport("winhttp.dll", SetLastError = true)]
        public static extern bool WinHttpQueryOption(IntPtr handle, uint option, ref IntPtr buffer, ref uint length);

        [DllImport("winhttp.dll", SetLastError = true)]
        public static extern bool WinHttpCloseHandle(IntPtr handle);

        [DllImport("crypt32.dll")]
        public static extern bool CertFreeCertificateContext(IntPtr context);
    }

    public static class Http
    {
        // WINHTTP_ACCESS_TYPE_*: the default proxy (netsh winhttp), no proxy, a named proxy.
        private const uint AccessDefault = 0;
        private const uint AccessNone = 1;
        private const uint AccessNamed = 3;
        private const uint FlagSecure = 0x00800000;
        private const uint QueryStatusCode = 19;
        private const uint QueryFlagNumber = 0x20000000;
        private const uint OptionDisableFeature = 63;
        private const uint DisableRedirects = 0x2;
        private const uint OptionServerCertContext = 78;
        // WINHTTP_OPTION_CLIENT_CERT_CONTEXT, and ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED (winhttp.h).
        private const uint OptionClientCertContext = 47;
        private const int ErrorClientCertNeeded = 12044;

        // A GET of each URL through WinHTTP, as sign-in does: proxy is "default" (the WinHTTP default proxy),
        // "direct", or a proxy server "host:port". Redirects are not followed: the first answer is the one recorded.
        public static Hashtable[] Get(string[] urls, string userAgent, string proxy, int timeoutMs)
        {
            return Parallel.Run(urls.Length, timeoutMs,
                delegate (int index) { return One(urls[index], userAgent, proxy, timeoutMs); },
                delegate (int index) { return Answer(urls[index], 0, "TimedOut", 0, timeoutMs); });
        }

        private static Hashtable Answer(string url, int status, string error, int code, int elapsed)
        {
            Hashtable result = new Hashtable();
            result["url"] = url;
            result["ok"] = status > 0;
            result["status"] = status;
            result["error"] = error;
            result["error_code"] = code;
            result["elapsed_ms"] = elapsed;
            return result;
        }

        private static Hashtable One(string url, string userAgent, string proxy, int timeoutMs)
        {
            DateTime started = DateTime.UtcNow;
            Uri uri;
            if (!Uri.TryCreate(url, UriKind.Absolute, out uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
                return Answer(url, 0, "InvalidUrl", 0, 0);
            uint access = proxy == "default" ? AccessDefault : (proxy == "direct" ? AccessNone : AccessNamed);
            IntPtr session = NativeMethods.WinHttpOpen(userAgent, access, access == AccessNamed ? proxy : null, null, 0);
            IntPtr connect = IntPtr.Zero;
            IntPtr request = IntPtr.Zero;
            try
            {
                if (session == IntPtr.Zero)
                    return Failed(url, started);
                NativeMethods.WinHttpSetTimeouts(session, timeoutMs, timeoutMs, timeoutMs, timeoutMs);
                connect = NativeMethods.WinHttpConnect(session, uri.Host, (ushort)uri.Port, 0);
                if (connect == IntPtr.Zero)
                    return Failed(url, started);
                request = NativeMethods.WinHttpOpenRequest(connect, "GET", uri.PathAndQuery, null, null, IntPtr.Zero,
                                                           uri.Scheme == "https" ? FlagSecure : 0);
                if (request == IntPtr.Zero)
                    return Failed(url, started);
                uint redirects = DisableRedirects;
                NativeMethods.WinHttpSetOption(request, OptionDisableFeature, ref redirects, 4);
                bool answered = Send(request);
                bool retried = false;
                if (!answered && Marshal.GetLastWin32Error() == ErrorClientCertNeeded)
                {
                    // The server asked for a client certificate: answer once without one (WINHTTP_NO_CLIENT_CERT_CONTEXT),
                    // as an application that has none does; 12044 says nothing of the protocols WinHTTP offers.
                    retried = true;
                    answered = NativeMethods.WinHttpSetOption(request, OptionClientCertContext, IntPtr.Zero, 0) && Send(request);
                }
                if (!answered)
                {
                    Hashtable failed = Failed(url, started);
                    if (retried)
                        failed["client_cert_retried"] = true;
                    return failed;
                }
                uint status = 0;
                uint length = 4;
                if (!NativeMethods.WinHttpQueryHeaders(request, QueryStatusCode | QueryFlagNumber, IntPtr.Zero, ref status, ref length, IntPtr.Zero))
                    return Failed(url, started);
                Hashtable answer = Answer(url, (int)status, null, 0, Clock.Since(started));
                if (uri.Scheme == "https")
                    ServerChain(request, answer);
                return answer;
            }
            finally
            {
                if (request != IntPtr.Zero)
                    NativeMethods.WinHttpCloseHandle(request);
                if (connect != IntPtr.Zero)
                    NativeMethods.WinHttpCloseHandle(connect);
                if (session != IntPtr.Zero)
                    NativeMethods.WinHttpCloseHandle(session);
            }
        }

        private static void ServerChain(IntPtr request, Hashtable answer)
        {
            // The server certificate WinHTTP accepted (through whatever proxy it used), and the chain this host builds
            // for it: an inspecting proxy's certificate shows its own CA as the root.
            IntPtr context = IntPtr.Zero;
            uint size = (uint)IntPtr.Size;
            if (!NativeMethods.WinHttpQueryOption(request, OptionServerCertContext, ref context, ref size) || context == IntPtr.Zero)
                return;
            try
            {
                using (X509Certificate2 certificate = new X509Certificate2(context))
                {
                    X509Chain chain = new X509Chain();
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    chain.Build(certificate);
                    answer["chain"] = Tls.Elements(chain);
                    List<string> flags = new List<string>();
                    foreach (X509ChainStatus status in chain.ChainStatus)
                        flags.Add(status.Status.ToString());
                    answer["chain_status"] = flags.ToArray();
                }
            }
            finally
            {
                NativeMethods.CertFreeCertificateContext(context);
            }
        }

        private static bool Send(IntPtr request)
        {
            return NativeMethods.WinHttpSendRequest(request, IntPtr.Zero, 0, IntPtr.Zero, 0, 0, UIntPtr.Zero) &&
                   NativeMethods.WinHttpReceiveResponse(request, IntPtr.Zero);
        }

        private static Hashtable Failed(string url, DateTime started)
        {
            // ERROR_WINHTTP_* codes (12001-12186) by number; the controller names them.
            return Answer(url, 0, "WinHttpError", Marshal.GetLastWin32Error(), Clock.Since(started));
        }
    }
}
