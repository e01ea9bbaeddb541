using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace ImLogger.Sinks;

/// <summary>
/// Validates an SMTP server's certificate (RFC 6125 name check and a chain to a trusted CA) and, when it fails,
/// keeps a sentence that says which name and which CA did not match, for the operator.
/// </summary>
/// <remarks>
/// With a CA file the chain must end in one of its certificates (and only those: the system store is not consulted,
/// so an on-premises CA cannot be bypassed by a public one). Without, the system's trust store decides, as SslStream
/// already did. Revocation is not checked: an on-premises CA rarely publishes a reachable CRL, and a transcript waiting
/// for a CRL server is worse than one delivered to the pinned CA.
/// </remarks>
public sealed class SmtpServerCertificateCheck
{
    private readonly string _host;
    private readonly string? _caFile;
    private readonly X509Certificate2Collection? _trusted;

    /// <summary>Creates the check for one connection.</summary>
    /// <param name="host">The host name connected to (what the certificate must name).</param>
    /// <param name="caFile">PEM file of trusted CA certificates, or null for the system store.</param>
    /// <exception cref="IOException">The CA file cannot be read.</exception>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The CA file holds no readable certificate.</exception>
    public SmtpServerCertificateCheck(string host, string? caFile)
    {
        _host = host;
        _caFile = caFile;
        if (caFile is not null)
        {
            _trusted = [];
            _trusted.ImportFromPemFile(caFile);
            if (_trusted.Count == 0)
                throw new System.Security.Cryptography.CryptographicException($"the CA file {caFile} contains no PEM certificate");
        }
    }

    /// <summary>Why the last certificate was refused; null when it was accepted (or none was seen yet).</summary>
    public string? Problem { get; private set; }

    /// <summary>The certificate the server presented, for reports.</summary>
    public X509Certificate2? ServerCertificate { get; private set; }

    /// <summary>The <see cref="RemoteCertificateValidationCallback"/>.</summary>
    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        Problem = null;
        if (certificate is null)
        {
            Problem = $"the server at '{_host}' presented no certificate";
            return false;
        }
        var cert = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        ServerCertificate = cert;
        var problems = new List<string>();
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
            problems.Add($"the certificate names {Names(cert)} do not include the host name '{_host}' (connect by a name the certificate carries, or get a certificate for '{_host}')");

        if (_trusted is not null)
        {
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(_trusted);
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
                foreach (var element in chain.ChainElements.Skip(1)) custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            if (!custom.Build(cert))
                problems.Add($"the certificate of '{cert.Subject}' issued by '{cert.Issuer}' does not chain to the CA configured in ca-file {_caFile} " +
                             $"({string.Join("; ", _trusted.Select(c => $"'{c.Subject}'"))}): {Status(custom)}");
        }
        else if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            problems.Add($"the certificate of '{cert.Subject}' issued by '{cert.Issuer}' is not trusted by the system's CA store" +
                         (chain is null ? "" : $" ({Status(chain)})") +
                         "; if the server uses an on-premises CA, give its certificate in ca-file=\"...\"");
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            problems.Add("the server's certificate was not available");

        if (problems.Count == 0) return true;
        Problem = string.Join("; and ", problems);
        return false;
    }

    /// <summary>"DNS:mail.example.com, DNS:*.example.com" or the subject's CN.</summary>
    public static string Names(X509Certificate2 cert)
    {
        var names = cert.Extensions.OfType<X509SubjectAlternativeNameExtension>()
            .SelectMany(e => e.EnumerateDnsNames().Select(n => "DNS:" + n).Concat(e.EnumerateIPAddresses().Select(ip => "IP:" + ip)))
            .ToList();
        if (names.Count == 0) names.Add("CN:" + cert.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        return "(" + string.Join(", ", names) + ")";
    }

    private static string Status(X509Chain chain)
    {
        var statuses = chain.ChainStatus.Where(s => s.Status != X509ChainStatusFlags.NoError)
            .Select(s => string.IsNullOrWhiteSpace(s.StatusInformation) ? s.Status.ToString() : s.StatusInformation.Trim())
            .Distinct().ToList();
        return statuses.Count == 0 ? "no chain" : string.Join(", ", statuses);
    }
}
