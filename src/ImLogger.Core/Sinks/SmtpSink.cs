using System.Net.Sockets;
using ImLogger.Config;
using ImLogger.Conversations;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace ImLogger.Sinks;

/// <summary>
/// The part every SMTP-based endpoint shares: one SMTP session per delivery, TLS required (STARTTLS per RFC 3207 or
/// implicit TLS per RFC 8314), the server's certificate validated, optional AUTH, then one or more messages.
/// Subclasses only say what the message looks like (<see cref="Compose"/>).
/// </summary>
/// <remarks>
/// Idempotence: every message has a Message-ID derived from the transcript id (and part number), so a redelivery after a
/// crash between the server's 250 to DATA and <c>MarkDelivered</c> is the same message to the archive, which
/// deduplicates by Message-ID.
/// <para>Failure classes (<see cref="SinkException.IsTransient"/>): connection, TLS, timeout, 4xx replies and AUTH
/// failures are transient (the endpoint, not the transcript, is at fault: the transcript waits in the spool while the
/// operator fixes the server or the config); a 5xx reply to MAIL, RCPT or DATA refuses this message and is permanent.</para>
/// </remarks>
public abstract class SmtpSink : ITranscriptSink
{
    private readonly ILogger _logger;

    /// <summary>Creates the sink.</summary>
    /// <param name="config">Endpoint settings.</param>
    /// <param name="logger">Logger.</param>
    protected SmtpSink(SmtpEndpointConfig config, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(logger);
        Config = config;
        _logger = logger;
        Sender = MailboxAddress.Parse(config.From);
        Recipients = config.To.Select(MailboxAddress.Parse).ToList();
    }

    /// <inheritdoc />
    public string Name => Config.Name;

    /// <summary>The endpoint's settings.</summary>
    public SmtpEndpointConfig Config { get; }

    /// <summary>SMTP envelope sender (MAIL FROM).</summary>
    protected MailboxAddress Sender { get; }

    /// <summary>SMTP envelope recipients (RCPT TO).</summary>
    protected IReadOnlyList<MailboxAddress> Recipients { get; }

    /// <summary>The message(s) a transcript becomes, in order; more than one only when the endpoint splits long transcripts.
    /// The result depends only on the transcript (stable Message-IDs).</summary>
    public abstract IReadOnlyList<MimeMessage> Compose(Transcript transcript);

    /// <inheritdoc />
    /// <returns>"host:port accepted &lt;message-id&gt;: server reply" per message.</returns>
    public async Task<string> DeliverAsync(Transcript transcript, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        var messages = Compose(transcript);
        var check = CreateCertificateCheck();
        using var client = CreateClient(check);
        var receipts = new List<string>(messages.Count);
        try
        {
            await OpenAsync(client, cancellationToken).ConfigureAwait(false);
            foreach (var message in messages)
            {
                var reply = await client.SendAsync(message, Sender, Recipients, cancellationToken).ConfigureAwait(false);
                receipts.Add($"<{message.MessageId}>: {reply}");
            }
            await client.DisconnectAsync(quit: true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Classify(ex, check, cancellationToken) is { } failure)
        {
            throw failure;
        }
        _logger.LogDebug("endpoint {Endpoint}: {Count} message(s) for transcript {Id} accepted", Name, messages.Count, transcript.Id);
        return $"{Config.Host}:{Config.Port} accepted " + string.Join("; ", receipts);
    }

    /// <summary>The step-by-step check behind <c>imlogger test-endpoint</c>: connect, TLS, authenticate, and optionally
    /// send a probe message marked as such. Never throws for a failing server: the failing step says what is wrong.</summary>
    public async Task<IReadOnlyList<EndpointCheckStep>> CheckAsync(bool sendProbe, CancellationToken cancellationToken)
    {
        var steps = new List<EndpointCheckStep>();
        SmtpServerCertificateCheck check;
        try
        {
            check = CreateCertificateCheck();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            steps.Add(new("read the CA file", false, $"{Config.CaFile}: {ex.Message}"));
            return steps;
        }
        using var client = CreateClient(check);
        var where = $"{Config.Host}:{Config.Port}";
        try
        {
            var options = Config.Tls switch
            {
                SmtpTlsMode.Implicit => SecureSocketOptions.SslOnConnect,
                SmtpTlsMode.StartTls => SecureSocketOptions.StartTls,
                _ => SecureSocketOptions.None,
            };
            await client.ConnectAsync(Config.Host, Config.Port, options, cancellationToken).ConfigureAwait(false);
            steps.Add(new($"connect to {where}", true, "the server greeted"));
            steps.Add(Config.Tls == SmtpTlsMode.InsecurePlaintext
                ? new("TLS", true, "NOT USED: insecure-plaintext-for-lab-only is set; transcripts cross the network readable by anyone on the path")
                : new(Config.Tls == SmtpTlsMode.StartTls ? "STARTTLS" : "implicit TLS", true,
                    $"{client.SslProtocol}, {client.SslCipherSuite}; certificate '{check.ServerCertificate?.Subject}' " +
                    $"{(check.ServerCertificate is { } c ? SmtpServerCertificateCheck.Names(c) : "")} issued by '{check.ServerCertificate?.Issuer}', " +
                    $"valid until {check.ServerCertificate?.NotAfter.ToUniversalTime():yyyy-MM-dd}; trusted via {(Config.CaFile is null ? "the system CA store" : "ca-file " + Config.CaFile)}"));
            if (Config.Username is not null && Config.Password is not null)
            {
                await client.AuthenticateAsync(Config.Username, Config.Password.Reveal(), cancellationToken).ConfigureAwait(false);
                steps.Add(new($"authenticate as '{Config.Username}'", true, $"accepted (password from {Config.Password.Source})"));
            }
            else
            {
                steps.Add(new("authenticate", true, "skipped: no username configured" +
                    (client.Capabilities.HasFlag(SmtpCapabilities.Authentication) ? $" (the server offers AUTH {string.Join(" ", client.AuthenticationMechanisms)})" : "")));
            }
            if (sendProbe)
            {
                var probe = ProbeMessage();
                var reply = await client.SendAsync(probe, Sender, Recipients, cancellationToken).ConfigureAwait(false);
                steps.Add(new($"send probe to {string.Join(", ", Recipients.Select(r => r.Address))}", true, $"<{probe.MessageId}> accepted: {reply}"));
            }
            await client.DisconnectAsync(true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Classify(ex, check, cancellationToken) is { } failure)
        {
            var step = ex switch
            {
                SocketException or TimeoutException when !client.IsConnected => $"connect to {where}",
                SslHandshakeException or NotSupportedException => Config.Tls == SmtpTlsMode.StartTls ? "STARTTLS" : "implicit TLS",
                _ when check.Problem is not null => "TLS certificate",
                AuthenticationException => $"authenticate as '{Config.Username}'",
                SmtpCommandException => sendProbe ? "send probe" : "SMTP",
                _ when !client.IsConnected && steps.Count == 0 => $"connect to {where}",
                _ => "SMTP",
            };
            steps.Add(new(step, false, failure.Message));
        }
        return steps;
    }

    /// <summary>A message that says it is a connectivity probe, so an archive admin can recognise and discard it.</summary>
    private MimeMessage ProbeMessage()
    {
        var message = new MimeMessage();
        message.From.Add(Sender);
        message.To.AddRange(Recipients);
        message.Subject = $"ImLogger endpoint test for '{Name}' (probe, not a transcript)";
        message.Date = DateTimeOffset.UtcNow;
        var domain = Sender.Domain.Length > 0 ? Sender.Domain : "imlogger.invalid";
        message.MessageId = $"probe.{Guid.NewGuid():N}@{domain}";
        message.Headers.Add("X-ImLogger-Probe", "yes");
        message.Headers.Add("Auto-Submitted", "auto-generated");
        message.Body = new TextPart("plain")
        {
            Text = $"This message was sent by `imlogger test-endpoint {Name} --send-probe` to check delivery. It is not a transcript.\n",
        };
        return message;
    }

    private SmtpServerCertificateCheck CreateCertificateCheck() =>
        new(Config.Host, Config.Tls == SmtpTlsMode.InsecurePlaintext ? null : Config.CaFile);

    private SmtpClient CreateClient(SmtpServerCertificateCheck check) => new()
    {
        Timeout = (int)Math.Clamp(Config.Timeout.TotalMilliseconds, 1000, int.MaxValue),
        ServerCertificateValidationCallback = check.Validate,
        CheckCertificateRevocation = false,
    };

    private async Task OpenAsync(SmtpClient client, CancellationToken ct)
    {
        var options = Config.Tls switch
        {
            SmtpTlsMode.Implicit => SecureSocketOptions.SslOnConnect,
            // StartTls (not StartTlsWhenAvailable): MailKit fails when the server does not offer STARTTLS, so a stripped
            // EHLO reply can never downgrade the session to plain text.
            SmtpTlsMode.StartTls => SecureSocketOptions.StartTls,
            _ => SecureSocketOptions.None,
        };
        await client.ConnectAsync(Config.Host, Config.Port, options, ct).ConfigureAwait(false);
        if (Config.Username is not null && Config.Password is not null)
            await client.AuthenticateAsync(Config.Username, Config.Password.Reveal(), ct).ConfigureAwait(false);
    }

    /// <summary>The <see cref="SinkException"/> an SMTP failure becomes (null: not ours to translate, e.g. our own cancellation).</summary>
    private SinkException? Classify(Exception ex, SmtpServerCertificateCheck check, CancellationToken ct)
    {
        if (ex is OperationCanceledException && ct.IsCancellationRequested) return null;
        var where = $"endpoint '{Name}' ({Config.Host}:{Config.Port})";
        if (check.Problem is not null)
            return new SinkException($"{where}: the server's TLS certificate was refused: {check.Problem}", isTransient: true, ex);
        return ex switch
        {
            NotSupportedException when Config.Tls == SmtpTlsMode.StartTls =>
                new SinkException($"{where}: the server does not offer STARTTLS, so the transcript was not sent (ImLogger never falls back to plain text). " +
                                  "Enable STARTTLS on the server, or use tls=\"implicit\" on port 465 if the server offers that.", true, ex),
            SslHandshakeException =>
                new SinkException($"{where}: the TLS handshake failed: {FirstLine(ex.Message)}" +
                                  (ex.InnerException is { } inner ? $" ({inner.Message})" : "") +
                                  (Config.Tls == SmtpTlsMode.Implicit ? " Is the port really implicit TLS (465)? Use tls=\"starttls\" for 25/587." : ""), true, ex),
            AuthenticationException =>
                new SinkException($"{where}: the server refused the login of user '{Config.Username}' (password from {Config.Password?.Source}): " +
                                  $"{FirstLine(ex.Message)} Check the username and the password.", true, ex),
            SmtpCommandException command => Command(where, command),
            ServiceNotAuthenticatedException =>
                new SinkException($"{where}: the server requires authentication; configure username and password-file or password-env. ({FirstLine(ex.Message)})", true, ex),
            SmtpProtocolException =>
                new SinkException($"{where}: SMTP protocol error: {FirstLine(ex.Message)}", true, ex),
            SocketException socket =>
                new SinkException($"{where}: cannot connect: {socket.Message} ({socket.SocketErrorCode}). Check host, port and firewall; transcripts wait in the spool.", true, ex),
            IOException or TimeoutException or OperationCanceledException =>
                new SinkException($"{where}: the connection failed or timed out: {FirstLine(ex.Message)}", true, ex),
            System.Security.Cryptography.CryptographicException =>
                new SinkException($"{where}: cannot use ca-file {Config.CaFile}: {ex.Message}", true, ex),
            _ => null,
        };
    }

    private SinkException Command(string where, SmtpCommandException ex)
    {
        var code = (int)ex.StatusCode;
        var command = ex.ErrorCode switch
        {
            SmtpErrorCode.SenderNotAccepted => $"MAIL FROM:<{ex.Mailbox?.Address ?? Sender.Address}>",
            SmtpErrorCode.RecipientNotAccepted => $"RCPT TO:<{ex.Mailbox?.Address}>",
            SmtpErrorCode.MessageNotAccepted => "DATA",
            _ => "a command",
        };
        var transient = code is >= 400 and < 500;
        var what = transient ? "temporarily refused" : "refused";
        return new SinkException($"{where}: the server {what} {command}: {code} {FirstLine(ex.Message)}", transient, ex);
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] + "…" : line;
    }
}

/// <summary>One step of an endpoint check: what was tried, whether it worked, and details or what is wrong.</summary>
/// <param name="Step">"connect to host:port", "STARTTLS", "authenticate as 'user'", ...</param>
/// <param name="Ok">Whether it worked.</param>
/// <param name="Detail">What was seen, or what is wrong and what to do.</param>
public sealed record EndpointCheckStep(string Step, bool Ok, string Detail);
