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
/// Subclasses only say what a message looks like (<see cref="Shape"/>).
/// </summary>
/// <remarks>
/// Size: a transcript larger than a message may be (the configured maximum or the server's SIZE, whichever is smaller)
/// is sent as numbered parts, in order; the caller records each accepted part, so a retry sends only the rest.
/// <para>Idempotence: every message has a Message-ID derived from the transcript id (and for a part, its number and the
/// events it carries), so a redelivery after a crash between the server's 250 to DATA and recording it is the same
/// message to the archive, which deduplicates by Message-ID.</para>
/// <para>Failure classes (<see cref="SinkException.IsTransient"/>): connection, TLS, timeout, 4xx replies and AUTH
/// failures are transient (the endpoint, not the transcript, is at fault: the transcript waits in the spool while the
/// operator fixes the server or the config); a 5xx reply to MAIL, RCPT or DATA refuses this message and is permanent.</para>
/// </remarks>
public abstract partial class SmtpSink : IResumableSink
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

    /// <inheritdoc />
    /// <returns>"host:port accepted &lt;message-id&gt;: server reply" per message.</returns>
    public Task<string> DeliverAsync(Transcript transcript, CancellationToken cancellationToken) =>
        DeliverAsync(transcript, DeliveryProgress.None, static _ => { }, cancellationToken);

    /// <inheritdoc />
    /// <remarks>The largest message is the smaller of the configured <c>max-message-size</c>, the SIZE the server
    /// announces after EHLO, and a smaller limit learnt from an earlier refusal. A 552 (or 5.3.4) refusal for size halves
    /// the limit and sends what is left in smaller parts, in the same session, down to a floor below which the refusal is
    /// permanent; accepted parts are never sent again.</remarks>
    public async Task<string> DeliverAsync(Transcript transcript, DeliveryProgress resume, Action<DeliveryProgress> accepted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        ArgumentNullException.ThrowIfNull(accepted);
        if (resume.PartsAccepted > 0 && resume.EventsAccepted >= transcript.Events.Count)
            return $"{Config.Host}:{Config.Port} had accepted all {resume.PartsAccepted} part(s) before";
        var check = CreateCertificateCheck();
        var guard = new SmtpSessionGuard();
        using var client = CreateClient(check, guard);
        using var deadline = new SmtpDeadline(Config, cancellationToken);
        var receipts = new List<string>();
        var progress = resume;
        var markResent = resume.CopyMayExist;
        try
        {
            await OpenAsync(client, deadline).ConfigureAwait(false);
            var limit = MessageLimit(client);
            var refused = true;
            while (refused)
            {
                refused = false;
                foreach (var part in Plan(transcript, limit, progress))
                {
                    string reply;
                    if (markResent) part.Message.Headers.Add(ResentHeader, ResentValue);
                    deadline.Restart(Size(part.Message));
                    try
                    {
                        reply = await client.SendAsync(part.Message, Sender, Recipients, deadline.Token).ConfigureAwait(false);
                    }
                    catch (SmtpCommandException ex) when (IsTooLarge(ex))
                    {
                        limit = Shrink(limit, Size(part.Message), ex);
                        refused = true;
                        break;
                    }
                    markResent = false;
                    receipts.Add($"<{part.Message.MessageId}>: {reply}");
                    if (!part.IsPart) continue;
                    progress = part.After;
                    accepted(progress);
                }
            }
            deadline.Restart(0);
            await Quit(client, deadline).ConfigureAwait(false);
        }
        catch (Exception ex) when (Classify(ex, check, guard, deadline, cancellationToken) is { } failure)
        {
            throw failure;
        }
        _logger.LogDebug("endpoint {Endpoint}: {Count} message(s) for transcript {Id} accepted", Name, receipts.Count, transcript.Id);
        return $"{Config.Host}:{Config.Port} accepted " + string.Join("; ", receipts);
    }

    /// <summary>The largest message this session may send: the configured maximum, lowered by the server's SIZE
    /// (RFC 1870; MailKit reads it from the EHLO reply) and by what an earlier refusal taught.</summary>
    private long MessageLimit(SmtpClient client)
    {
        var limit = Config.MaxMessageBytes;
        if (client.Capabilities.HasFlag(SmtpCapabilities.Size) && client.MaxSize > 0) limit = Math.Min(limit, (long)client.MaxSize);
        if (Interlocked.Read(ref _learnedLimit) is > 0 and var learned) limit = Math.Min(limit, learned);
        if (Budget(limit) - PartOverhead < MinPartBytes)
            throw new SinkException($"endpoint '{Name}' ({Config.Host}:{Config.Port}): the server takes messages of at most {limit} bytes " +
                                    $"(SIZE {client.MaxSize}, max-message-size {Config.MaxMessageBytes}); ImLogger needs at least {MinMessageLimit} to send a transcript in parts. " +
                                    "Raise the server's message size limit; transcripts wait in the spool.", isTransient: true);
        return limit;
    }

    /// <summary>The smallest limit that still leaves <see cref="MinPartBytes"/> for a part.</summary>
    private static long MinMessageLimit => (MinPartBytes + PartOverhead + MinHeadroom) * 51 / 50 + 1;

    /// <summary>A limit learnt from a refusal for size, kept for the sink's life (0: none). A server whose limit shrank,
    /// or that announces no SIZE, refuses once; later transcripts start below it.</summary>
    private long _learnedLimit;

    /// <summary>RFC 1870 and RFC 3463: 552 to MAIL FROM (SIZE= too large) or to the data, or the enhanced code 5.3.4.
    /// A 552 to RCPT TO is a full mailbox (5.2.2), not this message's size.</summary>
    private static bool IsTooLarge(SmtpCommandException ex) =>
        ex.Message.Contains("5.3.4", StringComparison.Ordinal) ||
        (ex.StatusCode == SmtpStatusCode.ExceededStorageAllocation && ex.ErrorCode is SmtpErrorCode.SenderNotAccepted or SmtpErrorCode.MessageNotAccepted);

    /// <summary>Halves the limit below the refused message, or gives up (permanently) once parts would be too small.</summary>
    private long Shrink(long limit, long refusedSize, SmtpCommandException ex)
    {
        var smaller = Math.Min(limit, refusedSize) / 2;
        if (Budget(smaller) - PartOverhead < MinPartBytes)
            throw new SinkException($"endpoint '{Name}' ({Config.Host}:{Config.Port}): the server refused even a part of {refusedSize} bytes as too large " +
                                    $"({(int)ex.StatusCode} {FirstLine(ex.Message)}). Raise the server's message size limit, then run `imlogger spool retry`.",
                                    isTransient: false, ex);
        Interlocked.Exchange(ref _learnedLimit, smaller);
        _logger.LogWarning("endpoint {Endpoint} refused a message of {Size} bytes as too large ({Code} {Reply}); sending what is left in parts of at most {Limit} bytes",
            Name, refusedSize, (int)ex.StatusCode, FirstLine(ex.Message), smaller);
        return smaller;
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
        var guard = new SmtpSessionGuard();
        using var client = CreateClient(check, guard);
        using var deadline = new SmtpDeadline(Config, cancellationToken);
        var where = $"{Config.Host}:{Config.Port}";
        try
        {
            await ConnectAsync(client, deadline).ConfigureAwait(false);
            steps.Add(new($"connect to {where}", true, "the server greeted"));
            steps.Add(Config.Tls == SmtpTlsMode.InsecurePlaintext
                ? new("TLS", true, "NOT USED: insecure-plaintext-for-lab-only is set; transcripts cross the network readable by anyone on the path")
                : new(Config.Tls == SmtpTlsMode.StartTls ? "STARTTLS" : "implicit TLS", true,
                    $"{client.SslProtocol}, {client.SslCipherSuite}; certificate '{check.ServerCertificate?.Subject}' " +
                    $"{(check.ServerCertificate is { } c ? SmtpServerCertificateCheck.Names(c) : "")} issued by '{check.ServerCertificate?.Issuer}', " +
                    $"valid until {check.ServerCertificate?.NotAfter.ToUniversalTime():yyyy-MM-dd}; trusted via {(Config.CaFile is null ? "the system CA store" : "ca-file " + Config.CaFile)}"));
            if (Config.Username is not null && Config.Password is not null)
            {
                await client.AuthenticateAsync(Config.Username, Config.Password.Reveal(), deadline.Token).ConfigureAwait(false);
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
                deadline.Restart(Size(probe));
                var reply = await client.SendAsync(probe, Sender, Recipients, deadline.Token).ConfigureAwait(false);
                steps.Add(new($"send probe to {string.Join(", ", Recipients.Select(r => r.Address))}", true, $"<{probe.MessageId}> accepted: {reply}"));
            }
            deadline.Restart(0);
            await Quit(client, deadline).ConfigureAwait(false);
        }
        catch (Exception ex) when (Classify(ex, check, guard, deadline, cancellationToken) is { } failure)
        {
            var step = ex switch
            {
                _ when ex is SmtpBoundException || deadline.Fired => guard.Waiting.Replace("the reply to ", "", StringComparison.Ordinal),
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

    private async Task OpenAsync(SmtpClient client, SmtpDeadline deadline)
    {
        await ConnectAsync(client, deadline).ConfigureAwait(false);
        if (Config.Username is not null && Config.Password is not null)
            await client.AuthenticateAsync(Config.Username, Config.Password.Reveal(), deadline.Token).ConfigureAwait(false);
    }

    /// <summary>QUIT once every message was accepted: a server that drops the connection now changes nothing (the messages
    /// are accepted), so a failure here is no reason to send them again.</summary>
    private async Task Quit(SmtpClient client, SmtpDeadline deadline)
    {
        try
        {
            await client.DisconnectAsync(quit: true, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!deadline.Token.IsCancellationRequested || deadline.Fired)
        {
            _logger.LogDebug("endpoint {Endpoint}: QUIT after the accepted message(s) failed: {Error}", Name, ex.Message);
        }
    }

    /// <summary>The <see cref="SinkException"/> an SMTP failure becomes (null: not ours to translate, e.g. our own cancellation);
    /// a failure while the server had a whole message unanswered is marked <see cref="SinkException.OutcomeUnknown"/>.</summary>
    private SinkException? Classify(Exception ex, SmtpServerCertificateCheck check, SmtpSessionGuard guard, SmtpDeadline deadline, CancellationToken ct)
    {
        if (ex is OperationCanceledException && ct.IsCancellationRequested) return null;
        var where = $"endpoint '{Name}' ({Config.Host}:{Config.Port})";
        var failure = Classify(where, ex, check, guard, deadline);
        return failure is not null && guard.AwaitingDataReply ? Unknown(where, failure) : failure;
    }

    private SinkException? Classify(string where, Exception ex, SmtpServerCertificateCheck check, SmtpSessionGuard guard, SmtpDeadline deadline)
    {
        if (check.Problem is not null)
            return new SinkException($"{where}: the server's TLS certificate was refused: {check.Problem}", isTransient: true, ex);
        if (Bounded(where, ex, guard, deadline) is { } bounded) return bounded;
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
