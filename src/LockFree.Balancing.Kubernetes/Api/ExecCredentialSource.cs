using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using LockFree.Balancing.Kubernetes.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LockFree.Balancing.Kubernetes.Api;

/// <summary>
/// Credentials from a kubeconfig <c>exec</c> plugin (EKS, GKE, AKS and OIDC helpers): runs the command, reads the
/// <c>ExecCredential</c> it prints, and keeps the token (or client certificate) until shortly before its
/// <c>expirationTimestamp</c> or until a 401.
/// </summary>
/// <remarks>
/// <para>
/// The plugin runs non-interactively (<c>spec.interactive: false</c>, standard input closed), as kubectl runs it
/// when there is no terminal, with a time limit after which it is killed. A failure throws a
/// <see cref="KubernetesApiException"/> whose message names the command and the cause (missing, exit code and the
/// start of its standard error, timeout, bad output) but never the standard output, which holds the token.
/// </para>
/// <para>Thread-safe: runs are serialized by a semaphore; the cached result is an immutable object swapped with a volatile write.</para>
/// </remarks>
internal sealed class ExecCredentialSource : ICredentialSource, IDisposable
{
    /// <summary>How long before <c>expirationTimestamp</c> the plugin is run again.</summary>
    public static readonly TimeSpan RefreshAhead = TimeSpan.FromSeconds(30);

    private const int MaxStandardErrorInMessage = 500;

    private readonly ExecCredentialSettings _settings;
    private readonly TimeProvider _time;
    private readonly TimeSpan _timeout;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Credential? _current;

    private readonly ILogger _logger;

    public ExecCredentialSource(ExecCredentialSettings settings, TimeProvider time, TimeSpan timeout, ILogger? logger = null)
    {
        _logger = logger ?? NullLogger.Instance;
        _settings = settings;
        _time = time;
        _timeout = timeout;
    }

    public string? LastReadError => null; // a failed run throws: there is no older credential worth trying silently

    public X509Certificate2? ClientCertificate => Volatile.Read(ref _current)?.Certificate;

    /// <summary>Called (on the requesting thread, under the refresh gate) when the plugin returned a client certificate different from the previous one.</summary>
    public Action? CertificateRotated { get; set; }

    public async ValueTask<string?> GetAsync(CancellationToken cancellationToken)
    {
        Credential? current = Volatile.Read(ref _current);
        if (IsFresh(current))
        {
            return current!.Token;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            current = Volatile.Read(ref _current);
            if (IsFresh(current))
            {
                return current!.Token; // another caller refreshed it while this one waited
            }

            Credential fresh = await RunAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _current, fresh);
            Log.ExecCredentialObtained(_logger, _settings.Command, fresh.ExpiresAt);
            if (current?.Certificate is X509Certificate2 previous && fresh.Certificate is X509Certificate2 renewed
                && !string.Equals(previous.Thumbprint, renewed.Thumbprint, StringComparison.Ordinal))
            {
                // client-go closes every connection here (refreshCredsLocked -> connTracker.CloseAll): pooled
                // connections would otherwise keep presenting the old certificate.
                CertificateRotated?.Invoke();
            }

            return fresh.Token;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Invalidate()
    {
        Credential? current = Volatile.Read(ref _current);
        if (current is not null)
        {
            Volatile.Write(ref _current, current with { Invalidated = true });
        }
    }

    public void Dispose() => _gate.Dispose();

    private bool IsFresh(Credential? credential)
        => credential is { Invalidated: false }
           && (credential.ExpiresAt is not DateTimeOffset expires || _time.GetUtcNow() < expires - RefreshAhead);

    private async Task<Credential> RunAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(_settings.Command)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        foreach (string argument in _settings.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in _settings.Environment)
        {
            start.Environment[name] = value;
        }

        start.Environment["KUBERNETES_EXEC_INFO"] = ExecInfo();

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("the process did not start");
        }
        catch (Win32Exception ex)
        {
            string hint = string.IsNullOrWhiteSpace(_settings.InstallHint) ? string.Empty : " " + _settings.InstallHint.Trim();
            throw Failure($"could not be started ({ex.Message}); is it installed and on PATH?{hint}", ex);
        }

        using (process)
        {
            using var deadline = new CancellationTokenSource(_timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
            try
            {
                process.StandardInput.Close(); // interactiveMode Never: nothing to answer a prompt with
                Task<string> output = process.StandardOutput.ReadToEndAsync(linked.Token);
                Task<string> errors = process.StandardError.ReadToEndAsync(linked.Token);
                await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
                string stdout = await output.ConfigureAwait(false);
                string stderr = await errors.ConfigureAwait(false);
                if (process.ExitCode != 0)
                {
                    throw Failure($"exited with code {process.ExitCode.ToString(CultureInfo.InvariantCulture)}{StandardErrorExcerpt(stderr)}", null);
                }

                return Parse(stdout);
            }
            catch (OperationCanceledException ex)
            {
                Kill(process);
                if (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw Failure($"did not finish within {_timeout.TotalSeconds:0.###} s and was stopped", ex);
                }

                throw;
            }
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
    }

    private string ExecInfo()
    {
        string cluster = _settings.ClusterInfoJson is null ? string.Empty : ",\"cluster\":" + _settings.ClusterInfoJson;
        return "{\"apiVersion\":" + JsonSerializer.Serialize(_settings.ApiVersion, KubeConfigJsonContext.Default.String)
               + ",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false" + cluster + "}}";
    }

    private Credential Parse(string stdout)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(stdout);
        }
        catch (JsonException ex)
        {
            // Neither the output nor the parser's message (which quotes it) is repeated: it may hold a token.
            throw Failure($"printed something that is not an ExecCredential JSON object (invalid JSON at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})", null);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Failure("printed JSON that is not an ExecCredential object", null);
            }

            string? apiVersion = String(root, "apiVersion");
            if (!string.Equals(apiVersion, _settings.ApiVersion, StringComparison.Ordinal))
            {
                throw Failure($"answered with apiVersion '{apiVersion}', but '{_settings.ApiVersion}' was asked for", null);
            }

            if (!root.TryGetProperty("status", out JsonElement status) || status.ValueKind != JsonValueKind.Object)
            {
                throw Failure("printed an ExecCredential without 'status'", null);
            }

            string? token = String(status, "token");
            string? certificatePem = String(status, "clientCertificateData");
            string? keyPem = String(status, "clientKeyData");
            DateTimeOffset? expiresAt = null;
            if (String(status, "expirationTimestamp") is string expiration)
            {
                if (!DateTimeOffset.TryParse(expiration, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset parsed))
                {
                    throw Failure($"printed an expirationTimestamp '{expiration}' that is not an RFC 3339 time", null);
                }

                expiresAt = parsed;
            }

            X509Certificate2? certificate = null;
            if (certificatePem is not null || keyPem is not null)
            {
                if (certificatePem is null || keyPem is null)
                {
                    throw Failure("printed only one of clientCertificateData and clientKeyData; both are needed", null);
                }

                try
                {
                    certificate = ClientCertificates.FromPem(certificatePem, keyPem, OperatingSystem.IsWindows());
                }
                catch (Exception ex) when (ex is CryptographicException or ArgumentException)
                {
                    throw Failure($"printed a client certificate or key that is not valid PEM ({ex.Message})", ex);
                }
            }
            else if (string.IsNullOrEmpty(token))
            {
                throw Failure("printed an ExecCredential with neither status.token nor a client certificate", null);
            }

            return new Credential(string.IsNullOrEmpty(token) ? null : token, certificate, expiresAt, Invalidated: false);
        }
    }

    private static string? String(JsonElement element, string name)
        => element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string StandardErrorExcerpt(string stderr)
    {
        string text = stderr.Trim();
        if (text.Length == 0)
        {
            return string.Empty;
        }

        return ": " + (text.Length > MaxStandardErrorInMessage ? text[..MaxStandardErrorInMessage] + "…" : text);
    }

    private KubernetesApiException Failure(string problem, Exception? inner)
    {
        string message = $"the exec credential plugin '{_settings.Command}' (kubeconfig '{_settings.KubeConfigFile}') {problem}";
        return inner is null ? new KubernetesApiException(message) : new KubernetesApiException(message, inner);
    }

    private sealed record Credential(string? Token, X509Certificate2? Certificate, DateTimeOffset? ExpiresAt, bool Invalidated);
}
