%%% mod_imlogger_inline: holds every stanza a logged user sends or receives until ImLogger (an external component,
%%% XEP-0114) has stored it durably and returned a verdict; then routes it unchanged, or refuses it with the XMPP
%%% error ImLogger chose. The ejabberd adapter of docs/inline-protocol.md (urn:imlogger:inline:0); the Prosody one,
%%% integrations/prosody/mod_imlogger_inline.lua, is the reference: this module follows it step by step.
%%% ejabberd 23.01 (Debian bookworm). Build and install: integrations/ejabberd/README.md.
%%%
%%% Where ejabberd holds a stanza (docs/inline-protocol.md, "Which stanzas are held", ejabberd column):
%%%  - out: `user_send_packet` (run by the sender's c2s process for every stanza it sends, before routing). A held
%%%    stanza is dropped there and, once allowed, handed back to the same c2s process, which runs it through
%%%    ejabberd_c2s:handle_authenticated_packet/2 again (self-presence, directed presence, privacy, routing), so
%%%    the session's own state (its presence, who it sent directed presence to) is updated exactly as without us.
%%%  - in: `filter_packet` (run by ejabberd_router for every routed stanza, before it reaches the user's sessions,
%%%    offline storage or the server's answers on the user's behalf). Released with ejabberd_router:route/1.
%%%  Released stanzas carry a meta flag (imlogger_out / imlogger_in) that the hooks let pass the second time (but for
%%%  a bounce that inherited it from the message it sends back: filter_packet).
%%%  Verdicts come back as iq results from the component to the host: filter_packet takes them before routing.
%%%  ImLogger's messages to a logged user (its notices) wait until her sessions have processed what the verdicts before
%%%  them released: "Notices after the releases" below.
%%%
%%% Options (what `imlogger server-config` writes into the ejabberd.yml snippet, under modules:):
%%%   component: "archive.example.test"   ImLogger's component JID (required)
%%%   logged_users: ["alice@example.test"] bare JIDs to hold stanzas for
%%%   log_all: false                       true: hold every user of the host (logged by default)
%%%   excluded_users: []                   with log_all: users never held
%%%   unlogged_ttl: 300                    with log_all: seconds a user without a seat stays unheld
%%%   failure_mode: closed                 or open: see the protocol document
%%%   timeout: 10                          seconds a held stanza waits for its verdict (also while ImLogger is away)
%%%   batch_size: 100                      stanzas per verdict request, at most
%%%   linger: 20                           milliseconds a held stanza waits for others to share its request (0: only
%%%                                        what is in the mailbox already)
%%%   max_batch_bytes: 983040              bytes per verdict request, at most: below ImLogger's max-stanza-bytes
%%%   away_max_bytes: 33554432             fail-closed: bytes kept while ImLogger is away; beyond, the oldest are refused
%%%   heartbeat: 30                        seconds between proofs of life (<alive/>)
%%%   check_clients: false                 true (an organization with <approved-clients>): judge each logged user's new
%%%                                        session by its client before it takes part (mod_imlogger_signin.erl)
%%%   client_timeout: 10                   seconds a new session has to answer the version query
%%%   generation: ""                       the fingerprint of ImLogger's rules this snippet was generated from

-module(mod_imlogger_inline).
-behaviour(gen_mod).
-behaviour(gen_server).

-export([start/2, stop/1, reload/3, depends/2, mod_opt_type/1, mod_options/1, mod_doc/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2, code_change/3]).
-export([user_send_packet/1, filter_packet/1, c2s_handle_info/2, route_registered/1, route_unregistered/1]).
-export([content_free/1, c2s_session_opened/1, is_logged/2]).

-include("xmpp.hrl").
-include("logger.hrl").

-define(NS, <<"urn:imlogger:inline:0">>).
-define(VERSION, <<"1">>).
-define(UNAVAILABLE_TEXT, <<"Archiving is unavailable; your message was not sent. Try again in a moment.">>).
-define(MAX_TOKEN, 128).
-define(MAX_FREE_BYTES, 1024).
-define(ENCRYPTION_DISABLED, <<"encryption-disabled">>).

-record(state, {host :: binary(),
                component :: binary(),
                failure_mode :: closed | open,
                timeout :: pos_integer(),          % ms
                batch_size :: pos_integer(),
                linger :: non_neg_integer(),       % ms
                max_batch_bytes :: pos_integer(),
                away_max_bytes :: pos_integer(),
                heartbeat :: pos_integer(),        % ms
                generation :: binary(),
                next_item = 0 :: non_neg_integer(),
                next_request = 0 :: non_neg_integer(),
                waiting = [] :: [map()],           % held items not yet sent, in arrival order
                waiting_bytes = 0 :: non_neg_integer(),
                batches = #{} :: #{binary() => map()},
                queues = #{} :: #{term() => [map()]}, % release order per session (out) or user (in)
                gaps = #{} :: #{binary() => map()},
                refusals = [] :: [map()],
                flush_scheduled = false :: boolean(),
                away = false :: boolean(),
                retry_scheduled = false :: boolean(),
                retry_delay = 250 :: pos_integer(),
                stopping = false :: boolean(),
                after_releases = #{} :: #{reference() => reference()}, % a session's sync -> its notice
                notices = #{} :: #{reference() => {#message{}, [reference()]}}}). % a notice -> the syncs it waits for

%%%===================================================================
%%% gen_mod
%%%===================================================================
start(Host, Opts) ->
    Table = table(Host),
    catch ets:delete(Table),
    %% Owned by ejabberd's long-lived module supervisor would be nicer; the heir keeps it if our process restarts.
    ets:new(Table, [named_table, public, set, {read_concurrency, true}, {heir, whereis(ejabberd_gen_mod_sup), none}]),
    store_users(Host, Opts),
    %% Scale-out: one lane (process) per ImLogger instance, the first one started below (mod_imlogger_lanes.erl).
    mod_imlogger_lanes:start(Host, Opts),
    ejabberd_hooks:add(user_send_packet, Host, ?MODULE, user_send_packet, 1),
    ejabberd_hooks:add(c2s_handle_info, Host, ?MODULE, c2s_handle_info, 1),
    ejabberd_hooks:add(c2s_session_opened, Host, ?MODULE, c2s_session_opened, 50),
    signin_hooks(add, Host),
    %% Group chats: the rooms of this host's MUC service name their occupants (mod_imlogger_muc.erl).
    mod_imlogger_muc:init(),
    ejabberd_hooks:add(muc_filter_presence, Host, mod_imlogger_muc, filter_presence, 50),
    ejabberd_hooks:add(muc_filter_message, Host, mod_imlogger_muc, filter_message, 50),
    ejabberd_hooks:add(filter_packet, ?MODULE, filter_packet, 1),
    ejabberd_hooks:add(route_registered, ?MODULE, route_registered, 50),
    ejabberd_hooks:add(route_unregistered, ?MODULE, route_unregistered, 50),
    gen_mod:start_child(?MODULE, Host, Opts).

stop(Host) ->
    ejabberd_hooks:delete(user_send_packet, Host, ?MODULE, user_send_packet, 1),
    ejabberd_hooks:delete(c2s_handle_info, Host, ?MODULE, c2s_handle_info, 1),
    ejabberd_hooks:delete(c2s_session_opened, Host, ?MODULE, c2s_session_opened, 50),
    signin_hooks(delete, Host),
    ejabberd_hooks:delete(muc_filter_presence, Host, mod_imlogger_muc, filter_presence, 50),
    ejabberd_hooks:delete(muc_filter_message, Host, mod_imlogger_muc, filter_message, 50),
    case gen_mod:is_loaded_elsewhere(Host, ?MODULE) of
        false ->
            ejabberd_hooks:delete(filter_packet, ?MODULE, filter_packet, 1),
            ejabberd_hooks:delete(route_registered, ?MODULE, route_registered, 50),
            ejabberd_hooks:delete(route_unregistered, ?MODULE, route_unregistered, 50);
        true -> ok
    end,
    mod_imlogger_lanes:stop(Host),
    gen_mod:stop_child(?MODULE, Host),
    catch ets:delete(table(Host)),
    ok.

%% `ejabberdctl reload_config` (ImLogger rewrites the snippet on a reload of its own config, <attach rules-out>):
%% the logged users are re-read; stanzas already held keep their verdicts.
reload(Host, NewOpts, _OldOpts) ->
    store_users(Host, NewOpts),
    mod_imlogger_lanes:reload(Host, NewOpts, _OldOpts).

depends(_Host, _Opts) -> [].

%% Approved clients at sign-in (mod_imlogger_signin.erl): before every other hook of the session (priority 0), and after
%% ejabberd_c2s has closed a session (110) to route again what waited for it. Always added: they act on a gated session
%% only, and a session is gated only with check_clients.
signin_hooks(Action, Host) ->
    mod_imlogger_signin:init(),
    lists:foreach(fun({Hook, Fun, Seq}) -> ejabberd_hooks:Action(Hook, Host, mod_imlogger_signin, Fun, Seq) end,
                  [{c2s_session_opened, session_opened, 10}, {user_send_packet, user_send_packet, 0},
                   {c2s_handle_info, c2s_handle_info, 0}, {c2s_filter_send, filter_send, 0},
                   {c2s_copy_session, copy_session, 50}, {c2s_terminated, terminated, 110}]).

mod_opt_type(component) -> econf:domain();
mod_opt_type(components) -> econf:list(econf:domain());
mod_opt_type(logged_users) -> econf:list(econf:binary());
mod_opt_type(log_all) -> econf:bool();
mod_opt_type(excluded_users) -> econf:list(econf:binary());
mod_opt_type(unlogged_ttl) -> econf:pos_int();
mod_opt_type(failure_mode) -> econf:enum([closed, open]);
mod_opt_type(timeout) -> econf:pos_int();
mod_opt_type(batch_size) -> econf:pos_int();
mod_opt_type(linger) -> econf:non_neg_int();
mod_opt_type(max_held) -> econf:pos_int();
mod_opt_type(max_batch_bytes) -> econf:pos_int();
mod_opt_type(away_max_bytes) -> econf:pos_int();
mod_opt_type(heartbeat) -> econf:pos_int();
mod_opt_type(generation) -> econf:binary();
mod_opt_type(check_clients) -> econf:bool();
mod_opt_type(client_timeout) -> econf:pos_int().

mod_options(_Host) ->
    [{component, undefined}, {components, []}, {logged_users, []}, {log_all, false}, {excluded_users, []}, {unlogged_ttl, 300},
     {failure_mode, closed}, {timeout, 10}, {batch_size, 100}, {linger, 20}, {max_held, 500}, {max_batch_bytes, 960 * 1024},
     {away_max_bytes, 32 * 1024 * 1024}, {heartbeat, 30}, {generation, <<"">>},
     {check_clients, false}, {client_timeout, 10}].

mod_doc() ->
    #{desc => [<<"Holds logged users' stanzas until ImLogger (an external component) has archived them and decided; "
                 "see docs/inline-protocol.md in ImLogger.">>]}.

%%%===================================================================
%%% Who is held (read by the hooks in the c2s and router processes: an ETS table per host)
%%%===================================================================
table(Host) -> gen_mod:get_module_proc(Host, imlogger_inline_users).
proc(Host) -> gen_mod:get_module_proc(Host, ?MODULE).

store_users(Host, Opts) ->
    Table = table(Host),
    ets:delete_all_objects(Table),
    Norm = fun(J) -> jid:encode(jid:remove_resource(jid:tolower(jid:decode(J)))) end,
    ets:insert(Table, {log_all, gen_mod:get_opt(log_all, Opts)}),
    ets:insert(Table, {unlogged_ttl, gen_mod:get_opt(unlogged_ttl, Opts)}),
    ets:insert(Table, [{{logged, Norm(J)}} || J <- gen_mod:get_opt(logged_users, Opts)]),
    ets:insert(Table, [{{excluded, Norm(J)}} || J <- gen_mod:get_opt(excluded_users, Opts)]),
    ?INFO_MSG("ImLogger: holding the stanzas of ~ts for ~ts (fail-~ts, timeout ~B s)",
              [describe_logged(Host, Opts), gen_mod:get_opt(component, Opts),
               gen_mod:get_opt(failure_mode, Opts), gen_mod:get_opt(timeout, Opts)]).

describe_logged(Host, Opts) ->
    case gen_mod:get_opt(log_all, Opts) of
        true -> io_lib:format("every user of ~ts but ~B excluded (logged by default)",
                              [Host, length(gen_mod:get_opt(excluded_users, Opts))]);
        false -> io_lib:format("~B logged user(s)", [length(gen_mod:get_opt(logged_users, Opts))])
    end.

-spec is_logged(binary(), binary()) -> boolean().
is_logged(_User, <<"">>) -> false;
is_logged(User, Server) ->
    Table = table(Server),
    try ets:lookup(Table, log_all) of
        [{log_all, true}] ->
            case ets:member(Table, {excluded, User}) of
                true -> false;
                false ->
                    case ets:lookup(Table, {unlogged, User}) of
                        [{_, Since}] ->
                            [{_, Ttl}] = ets:lookup(Table, unlogged_ttl),
                            case erlang:monotonic_time(second) - Since < Ttl of
                                true -> false;
                                false -> ets:delete(Table, {unlogged, User}), true
                            end;
                        [] -> true
                    end
            end;
        _ -> ets:member(Table, {logged, User})
    catch error:badarg -> false % the module is not loaded for this host
    end.

bare(#jid{} = J) -> jid:encode(jid:remove_resource(jid:tolower(J)));
bare(undefined) -> <<"">>.

%% Which JIDs are ImLogger's components (one per instance when scaled out): mod_imlogger_lanes:is_component/2.

%%%===================================================================
%%% Hooks
%%%===================================================================
%% Outgoing: every stanza a client session sends, before ejabberd processes or routes it.
user_send_packet({Pkt, #{jid := JID, lserver := LServer} = State} = Acc) ->
    case xmpp:get_meta(Pkt, imlogger_out, false) of
        true -> Acc;
        false ->
            User = bare(JID),
            case is_logged(User, LServer) andalso not mod_imlogger_lanes:is_component(xmpp:get_to(Pkt), LServer) of
                false -> Acc;
                true ->
                    El = xmpp:encode(Pkt),
                    %% Content-free shapes pass. Unlike Prosody, a server's answer to a content-free question (a
                    %% user's disco#items, last activity) is routed, so filter_packet holds it on its way back.
                    Forced = case is_iq(Pkt) andalso names_encryption_node(El) of
                                 true -> refuse_own_keys(Pkt, User), ?ENCRYPTION_DISABLED;
                                 false -> undefined
                             end,
                    case Forced == undefined andalso content_free(El) of
                        true -> Acc;
                        false ->
                            Held = ets:update_counter(table(LServer), {held, self()}, 1, {{held, self()}, 0}),
                            hold(LServer, out, User, Pkt, El, {out, self()}, self(), Forced),
                            back_pressure(LServer, Held, JID),
                            {stop, {drop, State}}
                    end
            end
    end;
user_send_packet(Acc) -> Acc.

%% The c2s process gets its allowed stanza back and processes it as if the client had just sent it. The
%% stream-management counter of stanzas received is restored: the client sent the stanza once, and counted it once.
c2s_handle_info(State, {imlogger_out, Pkt}) ->
    State1 = ejabberd_c2s:handle_authenticated_packet(Pkt, State),
    State2 = case maps:find(mgmt_stanzas_in, State) of
                 {ok, N} when is_map(State1) -> State1#{mgmt_stanzas_in => N};
                 _ -> State1
             end,
    {stop, State2};
c2s_handle_info(State, imlogger_resume) -> {stop, State}; % came after back_pressure/3 had stopped waiting
c2s_handle_info(State, {imlogger_sync, Lane, Ref}) -> % everything the lane released to this session is processed
    Lane ! {imlogger_synced, Ref},
    {stop, State};
c2s_handle_info(State, _Info) -> State.

%% Every routed stanza: verdicts and seats-changed from the component to a host, and stanzas for logged users.
filter_packet(drop) -> drop;
filter_packet(Pkt) ->
    From = xmpp:get_from(Pkt),
    To = xmpp:get_to(Pkt),
    case To of
        #jid{luser = <<"">>, lserver = Host, lresource = <<"">>} ->
            case is_host_with_module(Host) andalso mod_imlogger_lanes:is_component(From, Host) of
                true -> from_component(Host, Pkt);
                false -> Pkt
            end;
        #jid{lserver = Host} ->
            case xmpp:get_meta(Pkt, imlogger_in, false) of
                false ->
                    case notice_room(From, To, Pkt) of
                        {ok, RoomPid} -> mod_imlogger_muc:deliver_notice(Pkt, RoomPid);
                        false ->
                            case notice_to_logged(Host, From, To, Pkt) of
                                {ok, Lane} -> gen_server:cast(Lane, {after_releases, Pkt}), {stop, drop};
                                false -> maybe_hold_in(Host, From, To, Pkt)
                            end
                    end;
                Released ->
                    %% ejabberd builds a bounce from the stanza it sends back (xmpp:make_error/2), meta and all: the
                    %% bounce of a message released to a logged recipient (an account that does not exist, with
                    %% log_all) carries that message's flag, and is held all the same.
                    case is_bounce(Pkt) andalso Released /= true andalso Released /= error of
                        true -> maybe_hold_in(Host, From, To, Pkt);
                        false -> Pkt
                    end
            end;
        _ -> Pkt
    end.

%% ImLogger's notice to an occupant by nickname (room@service/nick, from a configured component): the room's process.
notice_room(#jid{luser = <<"">>, lresource = <<"">>, lserver = Component}, #jid{luser = Room, lserver = Service, lresource = Nick}, #message{})
  when Room /= <<"">>, Nick /= <<"">> ->
    IsOurs = lists:any(fun(H) -> gen_mod:is_loaded(H, ?MODULE) andalso lists:member(Component, mod_imlogger_lanes:components(H)) end,
                       ejabberd_option:hosts()),
    case IsOurs of
        true ->
            case catch mod_muc:find_online_room(Room, Service) of
                {ok, Pid} -> {ok, Pid};
                _ -> false
            end;
        false -> false
    end;
notice_room(_From, _To, _Pkt) -> false.

is_host_with_module(Host) ->
    ejabberd_router:is_my_host(Host) andalso gen_mod:is_loaded(Host, ?MODULE).

maybe_hold_in(Host, From, To, Pkt) ->
    User = bare(To),
    case is_logged(User, Host) andalso not mod_imlogger_lanes:is_component(From, Host) andalso bare(From) /= User of
        false -> Pkt;
        true ->
            El = xmpp:encode(Pkt),
            Forced = case incoming_keys(Pkt, El) of
                         true -> ?ENCRYPTION_DISABLED;
                         false -> undefined
                     end,
            %% A message error with an id is a message the user sent coming back: ejabberd routes its bounces (no such
            %% account: ejabberd_sm:route_message/1; a room that is gone: mod_muc:route_to_room/2; offline storage full;
            %% remote-server-not-found from s2s) through ejabberd_router:route_error/2, so they pass here, often bare.
            %% Held even when bare, so that the transcript marks that message as bounced rather than said, as the
            %% Prosody module does (docs/inline-protocol.md, "Passes unheld").
            case Forced == undefined andalso not is_bounce(Pkt) andalso content_free(El) of
                true -> Pkt;
                false ->
                    hold(Host, in, User, Pkt, El, {in, User}, undefined, Forced),
                    {stop, drop}
            end
    end.

is_bounce(#message{type = error, id = Id}) -> Id /= <<"">>;
is_bounce(_Pkt) -> false.

from_component(_Host, #iq{type = T, id = <<"imlogger-client-", _/binary>> = Id} = IQ) when T == result; T == error ->
    mod_imlogger_signin:verdict(Id, IQ);
from_component(Host, #iq{type = T, id = <<"imlogger-", _/binary>> = Id, from = #jid{lserver = Component}} = IQ)
  when T == result; T == error ->
    %% Scaled out: the lane that sent the request is the lane of the component answering it.
    gen_server:cast(mod_imlogger_lanes:proc_of_component(Host, Component), {response, Id, IQ}),
    {stop, drop};
from_component(Host, #iq{type = set, sub_els = [#xmlel{name = <<"seats-changed">>} = El]} = IQ) ->
    case fxml:get_tag_attr_s(<<"xmlns">>, El) of
        ?NS ->
            gen_server:cast(proc(Host), seats_changed),
            ejabberd_router:route(xmpp:make_iq_result(IQ)),
            {stop, drop};
        _ -> IQ
    end;
from_component(_Host, Pkt) -> Pkt.

%% The component connecting and leaving: ejabberd_service registers and unregisters its route.
route_registered(Domain) -> to_hosts_of(Domain, component_connected).
route_unregistered(Domain) -> to_hosts_of(Domain, component_disconnected).

to_hosts_of(Domain, Msg) ->
    lists:foreach(
      fun(Host) ->
              case gen_mod:is_loaded(Host, ?MODULE) andalso lists:member(Domain, mod_imlogger_lanes:components(Host)) of
                  true ->
                      mod_imlogger_lanes:route_changed(Host, Domain, Msg),
                      gen_server:cast(mod_imlogger_lanes:proc_of_component(Host, Domain), Msg);
                  false -> ok
              end
      end, ejabberd_option:hosts()).

%%%===================================================================
%%% gen_server: one per host, holds what waits and what is in flight
%%%===================================================================
init([Host|_]) ->
    process_flag(trap_exit, true),
    Opts = gen_mod:get_module_opts(Host, ?MODULE),
    State = configure(#state{host = Host}, Opts),
    self() ! {announce, <<"loaded">>},
    erlang:send_after(State#state.heartbeat, self(), heartbeat),
    {ok, State}.

configure(State, Opts) ->
    Timeout = gen_mod:get_opt(timeout, Opts) * 1000,
    State#state{component = mod_imlogger_lanes:lane_component(State#state.host, Opts), % scaled out: this lane's
                failure_mode = gen_mod:get_opt(failure_mode, Opts),
                timeout = Timeout,
                batch_size = gen_mod:get_opt(batch_size, Opts),
                linger = linger(gen_mod:get_opt(linger, Opts), Timeout, State#state.host),
                max_batch_bytes = gen_mod:get_opt(max_batch_bytes, Opts),
                away_max_bytes = gen_mod:get_opt(away_max_bytes, Opts),
                heartbeat = gen_mod:get_opt(heartbeat, Opts) * 1000,
                generation = gen_mod:get_opt(generation, Opts)}.

%% linger is in milliseconds (Prosody's imlogger_linger is in seconds). One not below the timeout would spend a held
%% stanza's whole timeout waiting for company, and its request would then get the one second at least that a late one
%% gets: the operator's timeout not kept. Said at error level with what to write, and the default used (as the Prosody module).
linger(Linger, Timeout, _Host) when Linger < Timeout -> Linger;
linger(Linger, Timeout, Host) ->
    Default = proplists:get_value(linger, mod_options(Host)),
    ?ERROR_MSG("mod_imlogger_inline: linger: ~B is not a number of milliseconds below timeout (~B s): using ~B instead. "
               "It is in milliseconds: 10 ms is 10", [Linger, Timeout div 1000, Default]),
    Default.

handle_call(_Request, _From, State) ->
    {reply, {error, badarg}, State}.

handle_cast({hold, Dir, User, Pkt, El, Key, Pid, Forced}, State) ->
    {noreply, do_hold(Dir, User, Pkt, El, Key, Pid, Forced, State)};
handle_cast({response, Id, IQ}, State) ->
    {noreply, response(Id, IQ, State)};
handle_cast({after_releases, Pkt}, State) ->
    {noreply, after_releases(Pkt, State)};
handle_cast(seats_changed, #state{host = Host} = State) ->
    N = length(ets:match_object(table(Host), {{unlogged, '_'}, '_'})),
    ets:match_delete(table(Host), {{unlogged, '_'}, '_'}),
    ?INFO_MSG("ImLogger's seats changed: the stanzas of ~B user(s) it had left unlogged are held again", [N]),
    {noreply, State};
handle_cast({reload, Opts}, State) ->
    State1 = configure(State, Opts),
    announce(<<"reloaded">>, State1),
    {noreply, State1};
handle_cast(component_connected, State) ->
    announce(<<"connected">>, State),
    mod_imlogger_signin:component_back(State#state.host),
    {noreply, report_alone(true, came_back("it connected again", State))};
handle_cast(component_disconnected, #state{failure_mode = closed, batches = Batches} = State) ->
    State1 = lists:foldl(fun(Id, S) -> park(Id, "the component disconnected", S) end, State, maps:keys(Batches)),
    {noreply, went_away("the component disconnected", State1)};
handle_cast(component_disconnected, State) ->
    {noreply, State};
handle_cast(_Msg, State) ->
    {noreply, State}.

handle_info(flush, State) ->
    {noreply, flush(State#state{flush_scheduled = false}, false)};
handle_info(retry, State) ->
    {noreply, retry(State#state{retry_scheduled = false})};
handle_info(reports, State) ->
    {noreply, report_alone(true, State)};
handle_info({timeout, Id}, #state{timeout = T} = State) ->
    {noreply, fail(Id, io_lib:format("no answer within ~B s", [T div 1000]), State)};
handle_info({announce, Reason}, State) ->
    announce(Reason, State),
    {noreply, State};
handle_info({imlogger_synced, Ref}, State) ->
    erlang:demonitor(Ref, [flush]),
    {noreply, synced(Ref, State)};
handle_info({'DOWN', Ref, process, _Pid, _Reason}, State) -> % a session gone before it answered: nothing to wait for
    {noreply, synced(Ref, State)};
handle_info(heartbeat, State) ->
    announce(<<"heartbeat">>, State),
    erlang:send_after(State#state.heartbeat, self(), heartbeat),
    {noreply, State};
handle_info(_Info, State) ->
    {noreply, State}.

%% The server (or the module) stops: nothing held may be delivered unlogged, nor silently lost.
terminate(_Reason, #state{batches = Batches} = State0) ->
    State = State0#state{stopping = true},
    State1 = lists:foldl(fun(Id, S) -> fail(Id, "server stopping", S) end, State, maps:keys(Batches)),
    _ = refuse_waiting(fun(_) -> true end, "server stopping", State1),
    ok.

code_change(_OldVsn, State, _Extra) -> {ok, State}.

%%%===================================================================
%%% Notices after the releases
%%%===================================================================
%% ImLogger answers a request with its verdicts, then sends the notices they call for ("this conversation is logged"),
%% to the logged user's bare JID. A session's own stanzas are released by handing them back to its c2s process
%% (act/2), which processes them later; the notice, routed at once, could reach ejabberd_sm before the session's
%% initial presence, released by the same verdicts, made it available: a client that sends a message right after
%% signing in (presence and message in one request) then had the notice put into offline storage instead of shown,
%% or left there for good when the store came after the presence had fetched the offline messages
%% (NoticeBounceTests on ejabberd, now and then; Prosody releases and routes in one thread, in order).
%% So a message from the component to a logged user goes through the lane of that component, which has handled
%% every verdict the component sent before it (casts from one process arrive in order), and waits until each of the
%% user's sessions has processed what the lane released to it (a sync message behind the releases; a session that
%% ends instead counts as done), then is routed as it came.
notice_to_logged(Host, From, #jid{luser = U} = To, #message{}) when U /= <<"">> ->
    case is_host_with_module(Host) andalso mod_imlogger_lanes:is_component(From, Host)
         andalso is_logged(bare(To), Host) of
        false -> false;
        true ->
            Lane = mod_imlogger_lanes:proc_of_component(Host, From#jid.lserver),
            case whereis(Lane) of
                undefined -> false; % the module is stopping: routed as before
                _ -> {ok, Lane}
            end
    end;
notice_to_logged(_Host, _From, _To, _Pkt) -> false.

after_releases(Pkt, #state{after_releases = Syncs, notices = Notices} = State) ->
    #jid{luser = U, lserver = S} = xmpp:get_to(Pkt),
    Pids = lists:filtermap(fun(R) -> case ejabberd_sm:get_session_pid(U, S, R) of
                                         P when is_pid(P) -> {true, P};
                                         _ -> false
                                     end
                           end, ejabberd_sm:get_user_resources(U, S)),
    case Pids of
        [] -> route_notice(Pkt), State;
        _ ->
            Key = make_ref(),
            Refs = [begin
                        Ref = erlang:monitor(process, P),
                        ejabberd_c2s:route(P, {imlogger_sync, self(), Ref}),
                        Ref
                    end || P <- Pids],
            State#state{after_releases = maps:merge(Syncs, maps:from_list([{R, Key} || R <- Refs])),
                        notices = Notices#{Key => {Pkt, Refs}}}
    end.

synced(Ref, #state{after_releases = Syncs, notices = Notices} = State) ->
    case maps:take(Ref, Syncs) of
        error -> State; % not a sync of ours
        {Key, Syncs1} ->
            {Pkt, Refs} = maps:get(Key, Notices),
            case lists:delete(Ref, Refs) of
                [] ->
                    route_notice(Pkt),
                    State#state{after_releases = Syncs1, notices = maps:remove(Key, Notices)};
                Left -> State#state{after_releases = Syncs1, notices = Notices#{Key => {Pkt, Left}}}
            end
    end.

%% Flagged so that filter_packet lets it pass the second time (imlogger_in: as a released stanza; never a bounce).
route_notice(Pkt) -> ejabberd_router:route(xmpp:put_meta(Pkt, imlogger_in, true)).

%%%===================================================================
%%% Holding and batching (as the Prosody module: hold, flush, fail, park, release)
%%%===================================================================
hold(Host, Dir, User, Pkt, El, Key, Pid, Forced) ->
    gen_server:cast(mod_imlogger_lanes:proc_for(Host, Dir, User, Pkt, El), {hold, Dir, User, Pkt, El, Key, Pid, Forced}).

do_hold(Dir, User, Pkt, El, Key, Pid, Forced, #state{next_item = N0, max_batch_bytes = Max} = State) ->
    N = N0 + 1,
    Id = integer_to_binary(N),
    %% Its size in a request: the stanza serialised (one serialisation per held stanza) plus the <item> wrapper.
    Size = byte_size(fxml:element_to_binary(El)) + byte_size(Id) + byte_size(User) + 96,
    Item = #{id => Id, n => N, dir => Dir, user => User, pkt => Pkt, el => El, key => Key, pid => Pid,
             held_at => now_ms(), size => Size, verdict => undefined, request => undefined, forced => Forced},
    State1 = State#state{next_item = N, queues = enqueue(Key, Item, State#state.queues)},
    case Size > Max - 512 of
        true ->
            State2 = refuse_too_large(Item, State1),
            release(Key, State2);
        false ->
            State2 = State1#state{waiting = State1#state.waiting ++ [Item],
                                  waiting_bytes = State1#state.waiting_bytes + Size},
            State3 = case State2#state.away andalso State2#state.waiting_bytes > State2#state.away_max_bytes of
                         true -> expire_waiting(State2);
                         false -> State2
                     end,
            if State3#state.away -> schedule_retry(State3);
               length(State3#state.waiting) >= State3#state.batch_size -> flush(State3, false);
               State3#state.flush_scheduled -> State3;
               true ->
                    %% What is already in the mailbox is held first: one request for a burst. With a linger, what
                    %% arrives within it too: at low rates a request costs both sides about as much as a stanza, so a
                    %% request per stanza doubled the cost (as the Prosody module's imlogger_linger; docs/inline-protocol.md).
                    case State3#state.linger of
                        0 -> self() ! flush;
                        Linger -> erlang:send_after(Linger, self(), flush)
                    end,
                    State3#state{flush_scheduled = true}
            end
    end.

enqueue(Key, Item, Queues) ->
    maps:put(Key, maps:get(Key, Queues, []) ++ [Item], Queues).

%% Replaces the item (now with a verdict) in its queue.
decide(#{key := Key, id := Id} = Item, Verdict, #state{queues = Queues} = State) ->
    Queue = [case I of #{id := Id} -> Item#{verdict => Verdict}; _ -> I end || I <- maps:get(Key, Queues, [])],
    State#state{queues = Queues#{Key => Queue}}.

release(Key, #state{queues = Queues} = State) ->
    {Done, Rest} = lists:splitwith(fun(#{verdict := V}) -> V /= undefined end, maps:get(Key, Queues, [])),
    lists:foreach(fun(Item) -> act(Item, State) end, Done),
    released(Key, length(Done), State),
    case Rest of
        [] -> State#state{queues = maps:remove(Key, Queues)};
        _ -> State#state{queues = Queues#{Key => Rest}}
    end.

act(#{forced := Forced, dir := Dir, user := User, pkt := Pkt}, _State) when Forced /= undefined ->
    %% Held only to be archived (encryption disabled): never routed, whatever the verdict or the failure mode, and
    %% already answered when it was held.
    ?DEBUG("Dropped ~ts ~ts of ~ts after archiving: ~ts", [Dir, element(1, Pkt), User, Forced]);
act(#{verdict := allow, dir := out, pid := Pid, pkt := #message{} = Pkt}, _State) when not is_pid(Pid) ->
    ejabberd_router:route(xmpp:put_meta(Pkt, imlogger_out, true));
act(#{verdict := allow, dir := out, pid := Pid, pkt := Pkt} = Item, State) ->
    case is_process_alive(Pid) of
        true -> ejabberd_c2s:route(Pid, {imlogger_out, xmpp:put_meta(Pkt, imlogger_out, true)});
        false when is_record(Pkt, message) ->
            %% The sender signed out while it waited: archived as sent, so it is delivered, through the router (what
            %% its session would have done for a message; carbons of a session that is gone have nobody to reach).
            act(Item#{pid => undefined}, State);
        false ->
            ?DEBUG("Dropped ~ts of ~ts: its session is gone", [element(1, Pkt), bare(xmpp:get_from(Pkt))])
    end;
act(#{verdict := allow, dir := in, pkt := Pkt}, _State) ->
    %% Flagged with its type, not `true`: a bounce built from it inherits the flag and is told apart by it (filter_packet).
    ejabberd_router:route(xmpp:put_meta(Pkt, imlogger_in, xmpp:get_type(Pkt)));
act(#{verdict := {deny, Type, Cond, Text}, dir := Dir, user := User, pkt := Pkt}, #state{component = Component}) ->
    ?DEBUG("Refused ~ts ~ts of ~ts (~ts): ~ts", [Dir, element(1, Pkt), User, Cond, Text]),
    case xmpp:get_type(Pkt) of
        T when T == error; T == result -> ok;
        _ ->
            Err = #stanza_error{type = Type, reason = condition(Cond), by = jid:make(Component),
                                text = xmpp:mk_text(Text, <<"en">>)},
            Reply = xmpp:make_error(without_payload(fix_to(Pkt, User)), Err),
            %% ImLogger's own words, not a client's: a logged sender receives them unheld.
            ejabberd_router:route(xmpp:put_meta(Reply, imlogger_in, true))
    end.

%% An error reply carries the condition and ImLogger's text only, as Prosody's error_reply does: the refused content
%% (an encrypted payload, a body) does not travel back.
without_payload(#message{} = M) -> M#message{body = [], subject = [], thread = undefined, sub_els = []};
without_payload(#presence{} = P) -> P#presence{status = [], show = undefined, priority = undefined, sub_els = []};
without_payload(#iq{} = IQ) -> IQ#iq{sub_els = []}.

%% A stanza to the user's own account has no `to`: its error comes from that account.
fix_to(Pkt, User) ->
    case xmpp:get_to(Pkt) of
        undefined -> xmpp:set_to(Pkt, jid:decode(User));
        _ -> Pkt
    end.

condition(Cond) when is_atom(Cond) -> Cond;
condition(Cond) ->
    try binary_to_existing_atom(Cond, utf8) of
        A -> case lists:member(A, stanza_conditions()) of true -> A; false -> 'undefined-condition' end
    catch error:badarg -> 'undefined-condition'
    end.

stanza_conditions() ->
    ['bad-request', conflict, 'feature-not-implemented', forbidden, 'internal-server-error', 'item-not-found',
     'jid-malformed', 'not-acceptable', 'not-allowed', 'not-authorized', 'policy-violation', 'recipient-unavailable',
     'registration-required', 'remote-server-not-found', 'remote-server-timeout', 'resource-constraint',
     'service-unavailable', 'subscription-required', 'undefined-condition', 'unexpected-request'].

error_type(T) ->
    case T of
        <<"auth">> -> auth; <<"modify">> -> modify; <<"wait">> -> wait; <<"continue">> -> continue; _ -> cancel
    end.

refuse_too_large(#{pkt := Pkt, size := Size, dir := Dir, user := User} = Item,
                 #state{max_batch_bytes = Max, component = Component, host = Host} = State) ->
    Kind = atom_to_binary(element(1, Pkt), utf8),
    Who = case Dir of out -> <<"your conversations are logged for compliance.">>;
                      in -> <<User/binary, " is logged for compliance.">> end,
    Text = iolist_to_binary(io_lib:format("This ~ts is too large to be archived (~B bytes; the limit is ~B), so it was not delivered: ~ts Send it in smaller parts.",
                                          [Kind, Size, Max, Who])),
    Other = case Dir of out -> xmpp:get_to(Pkt); in -> xmpp:get_from(Pkt) end,
    Notice = case Dir of
                 out -> io_lib:format("Your ~ts~ts was not delivered: it was too large (~B bytes) to be archived.",
                                      [Kind, case Other of undefined -> <<"">>; _ -> [<<" to ">>, bare(Other)] end, Size]);
                 in -> io_lib:format("A ~ts from ~ts to you was not delivered: it was too large (~B bytes) to be archived.",
                                     [Kind, case Other of undefined -> <<"someone">>; _ -> bare(Other) end, Size])
             end,
    ejabberd_router:route(#message{from = jid:make(Component), to = jid:decode(User), type = chat,
                                   id = <<"imlogger-too-large-", (p1_rand:get_string())/binary>>,
                                   body = xmpp:mk_text(iolist_to_binary(Notice))}),
    ?WARNING_MSG("Refused ~ts ~ts of ~ts by itself: ~B bytes, over max_batch_bytes (~B) on ~ts", [Dir, Kind, User, Size, Max, Host]),
    decide(Item, {deny, modify, 'policy-violation', Text}, State).

%% Sends what waits, in requests of at most batch_size stanzas and max_batch_bytes. While ImLogger is away nothing
%% is sent but one request, the probe, when Probe is true.
flush(#state{away = true} = State, false) -> schedule_retry(State);
flush(#state{waiting = []} = State, _Probe) -> State;
flush(#state{component = Component, failure_mode = Mode} = State, Probe) ->
    case ejabberd_router:is_my_route(Component) of
        false when Mode == closed ->
            %% ejabberd would send it to s2s (a DNS lookup, then remote-server-not-found): the component is away.
            went_away("the component is not connected", State);
        Connected ->
            State1 = send_request(State, Connected),
            case State1#state.waiting /= [] andalso not Probe andalso not State1#state.away of
                true -> flush(State1, false);
                false -> State1
            end
    end.

send_request(#state{host = Host, component = Component, next_request = R0, batch_size = BatchSize,
                    max_batch_bytes = Max} = State, Connected) ->
    Id = <<"imlogger-", (integer_to_binary(R0 + 1))/binary, "-", (p1_rand:get_string())/binary>>,
    {Taken, Rest, Bytes} = take(State#state.waiting, BatchSize, Max, 200, 0, []),
    Items = [Item#{request => Id} || Item <- Taken],
    ItemEls = [#xmlel{name = <<"item">>,
                      attrs = [{<<"id">>, I}, {<<"direction">>, atom_to_binary(D, utf8)}, {<<"user">>, U},
                               {<<"to-local">>, to_local(P)}] ++ restricted(F) ++ occupant(D, P),
                      children = [E]} || #{id := I, dir := D, user := U, pkt := P, el := E, forced := F} <- Items],
    {Reports, Batch0, State1} = reports(Max - Bytes, State#state{waiting = Rest,
                                                                   waiting_bytes = State#state.waiting_bytes - Bytes + 200,
                                                                   next_request = R0 + 1}),
    Oldest = case Items of [#{held_at := H} | _] -> now_ms() - H; [] -> 0 end,
    Timer = erlang:send_after(max(1000, State1#state.timeout - Oldest), self(), {timeout, Id}),
    Batch = Batch0#{items => maps:from_list([{I, It} || #{id := I} = It <- Items]), timer => Timer},
    State2 = State1#state{batches = (State1#state.batches)#{Id => Batch}},
    ?DEBUG("Sent request ~ts: ~B stanza(s)", [Id, length(Items)]),
    case Connected of
        true ->
            Request = #xmlel{name = <<"iq">>,
                             attrs = [{<<"type">>, <<"set">>}, {<<"id">>, Id}, {<<"from">>, Host}, {<<"to">>, Component}],
                             children = [#xmlel{name = <<"batch">>, attrs = [{<<"xmlns">>, ?NS}],
                                                children = ItemEls ++ Reports}]},
            ejabberd_router:route(jid:make(Host), jid:make(Component), Request),
            State2;
        false ->
            %% Fail-open with the component away: delivered unlogged at once and reported as a gap.
            fail(Id, "the component is not connected", State2)
    end.

%% The real bare JID of the occupant a held stanza comes from (in) or goes to (out), where the room on this server knows
%% it (mod_imlogger_muc.erl): occupant-jid on the item.
occupant(Dir, Pkt) ->
    Occupant = case Dir of in -> xmpp:get_from(Pkt); out -> xmpp:get_to(Pkt) end,
    case mod_imlogger_muc:occupant_real_jid(Occupant) of
        Real when is_binary(Real) -> [{<<"occupant-jid">>, Real}];
        _ -> []
    end.

take([], _N, _Max, Bytes, _Count, Acc) -> {lists:reverse(Acc), [], Bytes};
take(Rest, N, _Max, Bytes, Count, Acc) when Count >= N -> {lists:reverse(Acc), Rest, Bytes};
take([#{size := S} = I | Rest], N, Max, Bytes, Count, Acc) when Count == 0; Bytes + S =< Max ->
    take(Rest, N, Max, Bytes + S, Count + 1, [I | Acc]);
take(Rest, _N, _Max, Bytes, _Count, Acc) -> {lists:reverse(Acc), Rest, Bytes}.

%% `true` when the stanza's `to` domain is served by this server (or it has none), `false` when it would leave it.
to_local(Pkt) ->
    case xmpp:get_to(Pkt) of
        undefined -> <<"true">>;
        #jid{lserver = S} ->
            case ejabberd_router:is_my_route(S) of true -> <<"true">>; false -> <<"false">> end
    end.

%% Gap and refusal reports ride with a request while they fit in Room bytes; the rest wait for the next one.
reports(Room, #state{gaps = Gaps, refusals = Refusals} = State) ->
    {GapEls, BatchGaps, Room1} =
        maps:fold(fun(User, #{count := C, since := S, 'until' := U} = G, {Els, Acc, R}) ->
                          El = #xmlel{name = <<"gap">>, attrs = [{<<"xmlns">>, ?NS}, {<<"user">>, User},
                                                                 {<<"count">>, integer_to_binary(C)},
                                                                 {<<"since">>, S}, {<<"until">>, U}]},
                          Sz = byte_size(fxml:element_to_binary(El)),
                          case Sz =< R of
                              true -> {[El | Els], Acc#{User => G}, R - Sz};
                              false -> {Els, Acc, R}
                          end
                  end, {[], #{}, Room}, Gaps),
    {RefEls, BatchRefusals, Left} = take_refusals(Refusals, Room1, [], []),
    {GapEls ++ RefEls, #{gaps => BatchGaps, refusals => BatchRefusals},
     State#state{gaps = maps:without(maps:keys(BatchGaps), Gaps), refusals = Left}}.

take_refusals([], _Room, Els, Taken) -> {lists:reverse(Els), lists:reverse(Taken), []};
take_refusals([#{request := Req, count := C, reason := Why} = R | Rest] = All, Room, Els, Taken) ->
    El = #xmlel{name = <<"refused">>, attrs = [{<<"xmlns">>, ?NS}, {<<"request">>, Req},
                                              {<<"count">>, integer_to_binary(C)},
                                              {<<"reason">>, iolist_to_binary(Why)}]},
    Sz = byte_size(fxml:element_to_binary(El)),
    case Sz =< Room of
        true -> take_refusals(Rest, Room - Sz, [El | Els], [R | Taken]);
        false -> {lists:reverse(Els), lists:reverse(Taken), All}
    end.

%% The reports a request carried were not acknowledged: report them again with the next one.
restore_reports(#{gaps := BGaps, refusals := BRefusals}, #state{gaps = Gaps, refusals = Refusals} = State) ->
    Gaps1 = maps:fold(fun(User, #{count := C, since := S} = G, Acc) ->
                              case Acc of
                                  #{User := #{count := C0} = Cur} -> Acc#{User => Cur#{count => C0 + C, since => S}};
                                  _ -> Acc#{User => G}
                              end
                      end, Gaps, BGaps),
    State#state{gaps = Gaps1, refusals = newest(BRefusals ++ Refusals, 1000)}.

newest(List, N) when length(List) > N -> lists:nthtail(length(List) - N, List);
newest(List, _N) -> List.

response(Id, #iq{type = error} = IQ, #state{failure_mode = Mode} = State) ->
    case maps:is_key(Id, State#state.batches) of
        false -> State; % an <alive/> answered with an error, or a request already failed
        true ->
            {Type, Cond, Text} = case xmpp:get_error(IQ) of
                                     #stanza_error{type = T, reason = R, text = Txt} ->
                                         {T, R, xmpp:get_text(Txt)};
                                     _ -> {cancel, 'undefined-condition', <<"">>}
                                 end,
            Reason = io_lib:format("~ts~ts", [cond_name(Cond), case Text of <<"">> -> ""; _ -> [": ", Text] end]),
            Away = lists:member(Cond, ['remote-server-timeout', 'service-unavailable', 'remote-server-not-found',
                                       'recipient-unavailable']),
            case Mode == closed andalso (Type == wait orelse Away) of
                true -> park(Id, Reason, State);
                false -> fail(Id, Reason, State)
            end
    end;
response(Id, #iq{type = result, sub_els = SubEls}, #state{host = Host} = State) ->
    case maps:take(Id, State#state.batches) of
        error -> State;
        {#{items := Items, timer := Timer, gaps := Gaps}, Batches} ->
            erlang:cancel_timer(Timer),
            ?DEBUG("Verdicts for request ~ts", [Id]),
            State0 = case State#state.away of
                         true -> came_back("it answered", State#state{batches = Batches});
                         false -> State#state{batches = Batches}
                     end,
            Verdicts = [V || #xmlel{name = <<"verdicts">>} = Vs <- SubEls, fxml:get_tag_attr_s(<<"xmlns">>, Vs) == ?NS,
                             #xmlel{} = V <- Vs#xmlel.children],
            Decided = lists:foldl(
                        fun(#xmlel{name = Name, attrs = A} = V, Acc) ->
                                ItemId = fxml:get_attr_s(<<"item">>, A),
                                case maps:find(ItemId, Acc) of
                                    {ok, #{user := User} = It} when Name == <<"allow">> ->
                                        case fxml:get_attr_s(<<"unlogged">>, A) of
                                            <<"true">> -> ets:insert(table(Host), {{unlogged, User}, erlang:monotonic_time(second)});
                                            _ -> ok
                                        end,
                                        Acc#{ItemId => It#{verdict => allow}};
                                    {ok, It} when Name == <<"deny">> ->
                                        Type = error_type(fxml:get_attr_s(<<"type">>, A)),
                                        Cond = case fxml:get_attr_s(<<"condition">>, A) of <<"">> -> <<"policy-violation">>; C -> C end,
                                        Acc#{ItemId => It#{verdict => {deny, Type, Cond, fxml:get_subtag_cdata(V, <<"text">>)}}};
                                    _ -> Acc
                                end
                        end, Items, Verdicts),
            State1 = maps:fold(
                       fun(_, #{verdict := undefined} = It, S) ->
                               decide(It, {deny, cancel, 'internal-server-error', <<"ImLogger returned no verdict for this stanza">>}, S);
                          (_, #{verdict := V} = It, S) -> decide(It, V, S)
                       end, State0, Decided),
            maps:foreach(fun(User, #{count := C, since := S, 'until' := U}) ->
                                 ?INFO_MSG("Reported to ImLogger: ~B stanza(s) of ~ts passed unlogged between ~ts and ~ts", [C, User, S, U])
                         end, Gaps),
            release_keys(maps:values(Items), State1)
    end.

cond_name(C) when is_atom(C) -> atom_to_binary(C, utf8);
cond_name(_) -> <<"error">>.

release_keys(Items, State) ->
    Keys = lists:usort([K || #{key := K} <- Items]),
    lists:foldl(fun release/2, State, Keys).

fail(Id, Reason, #state{failure_mode = Mode} = State) ->
    case maps:take(Id, State#state.batches) of
        error -> State;
        {#{items := Items, timer := Timer} = Batch, Batches} ->
            erlang:cancel_timer(Timer),
            Now = timestamp(),
            State1 = restore_reports(Batch, State#state{batches = Batches}),
            State2 = maps:fold(
                       fun(_, #{user := User} = It, S) when Mode == open ->
                               G = maps:get(User, S#state.gaps, #{count => 0, since => Now}),
                               S1 = S#state{gaps = (S#state.gaps)#{User => G#{count => maps:get(count, G) + 1, 'until' => Now}}},
                               decide(It, allow, S1);
                          (_, It, S) ->
                               decide(It, {deny, wait, 'remote-server-timeout', ?UNAVAILABLE_TEXT}, S)
                       end, State1, Items),
            N = maps:size(Items),
            State3 = case Mode == closed andalso N > 0 of
                         true -> State2#state{refusals = newest(State2#state.refusals ++ [#{request => Id, count => N, reason => Reason}], 1000)};
                         false -> State2
                     end,
            case Mode of
                open -> ?WARNING_MSG("ImLogger unreachable (~ts): ~B held stanza(s) delivered UNLOGGED (fail-open); the gap is reported when it returns", [Reason, N]);
                closed -> ?WARNING_MSG("ImLogger unreachable (~ts): ~B held stanza(s) refused (fail-closed)", [Reason, N])
            end,
            report_alone(N > 0, release_keys(maps:values(Items), State3))
    end.

%% Reports ride with the next request. When no stanza waits they go at once in a request of their own (no item), so
%% that ImLogger marks what it stored of a refused request before the transcript is delivered, rather than whenever a
%% message comes next (docs/inline-protocol.md, `refused`). Not while the component is away or has no route, nor while
%% the server stops: that request would fail here again at once, and in fail-open it would do so forever. After a
%% request of reports alone failed (ImLogger connected but not answering, or answering an error), the next one waits
%% a retry period instead of a round trip.
report_alone(_Now, #state{refusals = [], gaps = Gaps} = State) when map_size(Gaps) == 0 -> State;
report_alone(Now, #state{waiting = [], away = false, stopping = false, component = Component} = State) ->
    case ejabberd_router:is_my_route(Component) of
        false -> State;
        true when Now -> send_request(State, true);
        true -> erlang:send_after(2000, self(), reports), State
    end;
report_alone(_Now, State) -> State.

%%% Fail-closed, while ImLogger is away (docs/inline-protocol.md, "While ImLogger is away"): a request the component
%%% cannot answer is parked, its stanzas wait again in arrival order, one probe per retry finds out whether ImLogger
%%% is back, and the component connecting again ends the wait at once. Only what waits the timeout (or passes
%%% away_max_bytes, the oldest first) is refused.
park(Id, Reason, State) ->
    case maps:take(Id, State#state.batches) of
        error -> State;
        {#{items := Items, timer := Timer} = Batch, Batches} ->
            erlang:cancel_timer(Timer),
            ?DEBUG("Parked request ~ts (~ts): its stanzas wait for ImLogger", [Id, Reason]),
            Back = maps:values(Items),
            Waiting = lists:sort(fun(#{n := A}, #{n := B}) -> A =< B end, State#state.waiting ++ Back),
            State1 = State#state{batches = Batches, waiting = Waiting,
                                 waiting_bytes = State#state.waiting_bytes + lists:sum([S || #{size := S} <- Back])},
            went_away(Reason, restore_reports(Batch, State1))
    end.

went_away(Reason, #state{away = false, timeout = T, away_max_bytes = Max} = State) ->
    ?WARNING_MSG("ImLogger is not connected (~ts): held stanzas wait for it, up to ~B s each and ~B bytes together (fail-closed)~ts",
                 [Reason, T div 1000, Max, mod_imlogger_lanes:describe(State#state.host, State#state.component, "'s share")]),
    schedule_retry(State#state{away = true, retry_delay = 250});
went_away(_Reason, State) ->
    schedule_retry(State).

came_back(_Reason, #state{away = false} = State) -> State;
came_back(Reason, State) ->
    ?INFO_MSG("ImLogger is back (~ts): sending the ~B stanza(s) held meanwhile~ts",
              [Reason, length(State#state.waiting), mod_imlogger_lanes:describe(State#state.host, State#state.component, "")]),
    flush(State#state{away = false}, false).

schedule_retry(#state{retry_scheduled = true} = State) -> State;
schedule_retry(#state{retry_delay = D} = State) ->
    erlang:send_after(D, self(), retry),
    State#state{retry_scheduled = true}.

retry(#state{away = false} = State) -> State;
retry(State) ->
    State1 = expire_waiting(State),
    case State1#state.waiting of
        [] -> State1;
        _ ->
            State2 = flush(State1#state{retry_delay = min(State1#state.retry_delay * 2, 2000)}, true),
            case State2#state.away of
                true -> schedule_retry(State2);
                false -> State2
            end
    end.

expire_waiting(#state{timeout = T, away_max_bytes = Max} = State) ->
    Now = now_ms(),
    State1 = refuse_waiting(fun(#{held_at := H}) -> Now - H >= T end,
                            io_lib:format("held ~B s while ImLogger was away", [T div 1000]), State),
    case State1#state.waiting_bytes > Max of
        false -> State1;
        true ->
            Counter = make_ref(),
            put(Counter, State1#state.waiting_bytes),
            State2 = refuse_waiting(fun(#{size := S}) ->
                                            case get(Counter) > Max of
                                                true -> put(Counter, get(Counter) - S), true;
                                                false -> false
                                            end
                                    end, io_lib:format("over away_max_bytes (~B) while ImLogger was away", [Max]), State1),
            erase(Counter),
            State2
    end.

refuse_waiting(ShouldRefuse, Reason, State) ->
    {Refused, Kept} = lists:partition(ShouldRefuse, State#state.waiting),
    case Refused of
        [] -> State;
        _ ->
            ByRequest = lists:foldl(fun(#{request := undefined}, Acc) -> Acc;
                                       (#{request := R}, Acc) -> Acc#{R => maps:get(R, Acc, 0) + 1}
                                    end, #{}, Refused),
            New = [#{request => R, count => C, reason => Reason} || {R, C} <- maps:to_list(ByRequest)],
            State1 = State#state{waiting = Kept,
                                 waiting_bytes = State#state.waiting_bytes - lists:sum([S || #{size := S} <- Refused]),
                                 refusals = newest(State#state.refusals ++ New, 1000)},
            ?WARNING_MSG("ImLogger unreachable: ~B held stanza(s) refused (fail-closed): ~ts", [length(Refused), Reason]),
            State2 = lists:foldl(fun(It, S) -> decide(It, {deny, wait, 'remote-server-timeout', ?UNAVAILABLE_TEXT}, S) end,
                                 State1, Refused),
            release_keys(Refused, State2)
    end.

%% Proof of life (docs/inline-protocol.md, "Proving the adapter is loaded").
announce(Reason, #state{host = Host, component = Component, generation = Gen} = State) ->
    case ejabberd_router:is_my_route(Component) of
        false -> ok; % nobody to tell; "connected" is sent when the component comes
        true ->
            Held = length(State#state.waiting) + lists:sum([maps:size(I) || #{items := I} <- maps:values(State#state.batches)]),
            ejabberd_router:route(
              jid:make(Host), jid:make(Component),
              #xmlel{name = <<"iq">>,
                     attrs = [{<<"type">>, <<"set">>}, {<<"id">>, <<"imlogger-alive-", (p1_rand:get_string())/binary>>},
                              {<<"from">>, Host}, {<<"to">>, Component}],
                     children = [#xmlel{name = <<"alive">>,
                                        attrs = [{<<"xmlns">>, ?NS}, {<<"version">>, ?VERSION}, {<<"generation">>, Gen},
                                                 {<<"held">>, integer_to_binary(Held)}, {<<"reason">>, Reason}]}]})
    end.

now_ms() -> erlang:monotonic_time(millisecond).

timestamp() ->
    list_to_binary(calendar:system_time_to_rfc3339(erlang:system_time(second), [{offset, "Z"}])).

%%%===================================================================
%%% Content-free shapes: pass unheld. The same list as `content_free` in mod_imlogger_inline.lua and the table in
%%% docs/inline-protocol.md ("Which stanzas are held"): keep the three equal.
%%%===================================================================
free_iq_payload(<<"get">>) ->
    #{{<<"urn:xmpp:ping">>, <<"ping">>} => [],
      {<<"http://jabber.org/protocol/disco#info">>, <<"query">>} => [],
      {<<"http://jabber.org/protocol/disco#items">>, <<"query">>} => [],
      {<<"jabber:iq:roster">>, <<"query">>} => [<<"ver">>],
      {<<"jabber:iq:version">>, <<"query">>} => [],
      {<<"urn:xmpp:time">>, <<"time">>} => [],
      {<<"jabber:iq:last">>, <<"query">>} => []};
free_iq_payload(<<"set">>) ->
    #{{<<"urn:ietf:params:xml:ns:xmpp-session">>, <<"session">>} => [],
      {<<"urn:xmpp:carbons:2">>, <<"enable">>} => [],
      {<<"urn:xmpp:carbons:2">>, <<"disable">>} => []};
free_iq_payload(_) -> #{}.

free_message_child() ->
    CS = <<"http://jabber.org/protocol/chatstates">>,
    Markers = <<"urn:xmpp:chat-markers:0">>,
    Hints = <<"urn:xmpp:hints">>,
    #{{CS, <<"active">>} => [], {CS, <<"composing">>} => [], {CS, <<"paused">>} => [],
      {CS, <<"inactive">>} => [], {CS, <<"gone">>} => [],
      {<<"urn:xmpp:receipts">>, <<"received">>} => [<<"id">>],
      {Markers, <<"received">>} => [<<"id">>], {Markers, <<"displayed">>} => [<<"id">>],
      {Markers, <<"acknowledged">>} => [<<"id">>],
      {Hints, <<"no-store">>} => [], {Hints, <<"no-permanent-store">>} => [], {Hints, <<"no-copy">>} => [],
      {Hints, <<"store">>} => [],
      {<<"urn:xmpp:sid:0">>, <<"origin-id">>} => [<<"id">>]}.

free_type(<<"message">>) -> [<<"chat">>, <<"normal">>, <<"headline">>, <<"groupchat">>, <<"error">>];
free_type(<<"iq">>) -> [<<"get">>, <<"set">>, <<"result">>, <<"error">>];
free_type(<<"presence">>) -> [<<"probe">>, <<"error">>];
free_type(_) -> undefined.

tags(Children) -> [C || #xmlel{} = C <- Children].

only_whitespace(Children) ->
    lists:all(fun({xmlcdata, D}) -> re:run(D, "\\S", [unicode]) == nomatch; (_) -> true end, Children).

%% An element with no text, no children and no attribute outside Allowed (ids no longer than the token limit).
empty_element(#xmlel{attrs = Attrs, children = Children}, Allowed) ->
    Children == [] andalso
        lists:all(fun({<<"xmlns">>, _}) -> true;
                     ({K, V}) -> lists:member(K, Allowed) andalso byte_size(V) =< ?MAX_TOKEN
                  end, Attrs).

ns(#xmlel{attrs = Attrs}) -> fxml:get_attr_s(<<"xmlns">>, Attrs).

%% An error naming only a defined condition (RFC 6120 8.3.3), without text or application payload.
bare_error([#xmlel{name = <<"error">>, attrs = Attrs, children = Children}]) ->
    lists:all(fun({K, _}) -> lists:member(K, [<<"type">>, <<"by">>, <<"xmlns">>]) end, Attrs)
        andalso only_whitespace(Children)
        andalso lists:all(fun(#xmlel{name = N} = C) ->
                                  ns(C) == <<"urn:ietf:params:xml:ns:xmpp-stanzas">>
                                      andalso not lists:member(N, [<<"text">>, <<"gone">>, <<"redirect">>])
                                      andalso empty_element(C, [])
                          end, tags(Children));
bare_error(_) -> false.

-spec content_free(fxml:xmlel()) -> boolean().
content_free(#xmlel{name = Name, attrs = Attrs, children = Children} = El) ->
    Type = fxml:get_attr(<<"type">>, Attrs),
    Tags = tags(Children),
    AttrsFree = lists:all(fun({K, V}) ->
                                  lists:member(K, [<<"xmlns">>, <<"id">>, <<"type">>, <<"to">>, <<"from">>, <<"xml:lang">>])
                                      andalso (K == <<"to">> orelse K == <<"from">> orelse byte_size(V) =< ?MAX_TOKEN)
                          end, Attrs),
    TypeFree = case {free_type(Name), Type} of
                   {undefined, _} -> false;
                   {_, false} -> true;
                   {Types, {value, T}} -> lists:member(T, Types)
               end,
    AttrsFree andalso TypeFree andalso only_whitespace(Children)
        andalso length(Tags) =< 8 andalso length(Children) =< 16
        andalso byte_size(fxml:element_to_binary(El)) =< ?MAX_FREE_BYTES
        andalso shape_free(Name, Type, Tags).

shape_free(_Name, {value, <<"error">>}, Tags) -> bare_error(Tags);
shape_free(<<"iq">>, {value, <<"result">>}, Tags) -> Tags == [];
shape_free(<<"iq">>, {value, T}, [#xmlel{name = N} = Payload]) ->
    case maps:find({ns(Payload), N}, free_iq_payload(T)) of
        {ok, Allowed} -> empty_element(Payload, Allowed);
        error -> false
    end;
shape_free(<<"message">>, _Type, []) -> false; % nothing at all: hold (cheap, and no shape to trust)
shape_free(<<"message">>, _Type, Tags) ->
    Free = free_message_child(),
    Keys = [{ns(C), N} || #xmlel{name = N} = C <- Tags],
    %% Each at most once: a receipt repeated is a list of chosen ids, i.e. text.
    length(lists:usort(Keys)) == length(Keys)
        andalso lists:all(fun(#xmlel{name = N} = C) ->
                                  case maps:find({ns(C), N}, Free) of
                                      {ok, Allowed} -> empty_element(C, Allowed);
                                      error -> false
                                  end
                          end, Tags);
shape_free(<<"presence">>, {value, <<"probe">>}, []) -> true;
shape_free(_, _, _) -> false.

%%%===================================================================
%%% Back-pressure (the Prosody module's imlogger_max_held): a client that outruns ImLogger is read more slowly, not
%%% refused. Each c2s process counts what it holds in the host's table ({held, Pid}); past max_held it waits in its
%%% user_send_packet hook, so it reads nothing more from its socket (TCP pushes back on the client), until the verdicts
%%% bring it down to half. It never waits longer than the hold timeout: by then each of its stanzas has a verdict.
%%% While it waits, what arrives for the session (and its own released stanzas) queues in its mailbox, in order.
%%%===================================================================
back_pressure(Host, Held, JID) ->
    case Held > gen_mod:get_module_opt(Host, ?MODULE, max_held) of
        false -> ok;
        true ->
            Table = table(Host),
            ets:insert(Table, {{paused, self()}}),
            ?INFO_MSG("Paused reading from ~ts: ~B stanzas held", [jid:encode(JID), Held]),
            %% The verdicts may have come between the count and the insert: then nobody would wake us.
            case held(Table, self()) =< gen_mod:get_module_opt(Host, ?MODULE, max_held) div 2
                 andalso ets:take(Table, {paused, self()}) /= [] of
                true -> ok;
                false ->
                    Timeout = gen_mod:get_module_opt(Host, ?MODULE, timeout) * 1000 + 1000,
                    receive imlogger_resume -> ok
                    after Timeout -> ets:delete(Table, {paused, self()})
                    end
            end,
            ?DEBUG("Resumed reading from ~ts: ~B stanzas held", [jid:encode(JID), held(Table, self())])
    end.

held(Table, Pid) ->
    case ets:lookup(Table, {held, Pid}) of
        [{_, N}] -> N;
        [] -> 0
    end.

%% N stanzas of a session got their verdicts: count them off, and wake the session if it waits and is down to half.
released(_Key, 0, _State) -> ok;
released({out, Pid}, N, #state{host = Host}) when is_pid(Pid) ->
    Table = table(Host),
    Left = ets:update_counter(Table, {held, Pid}, -N, {{held, Pid}, N}),
    case Left =< gen_mod:get_module_opt(Host, ?MODULE, max_held) div 2 of
        false -> ok;
        true ->
            %% A session that is gone holds nothing: its count goes (only if still zero: the hook may count again).
            _ = Left == 0 andalso ets:select_delete(Table, [{{{held, Pid}, 0}, [], [true]}]) > 0,
            case ets:take(Table, {paused, Pid}) of
                [] -> ok;
                _ -> Pid ! imlogger_resume
            end
    end;
released(_Key, _N, _State) -> ok.

%%%===================================================================
%%% Encryption disabled for logged users (docs/inline-protocol.md, "Encryption disabled at the server"; the Prosody
%%% module's rules, step by step). ImLogger's per-stanza refusal stays the second line; this keeps clients from
%%% offering encryption at all: a logged user cannot publish, delete, configure, subscribe to or fetch OMEMO (0.3 and 2)
%%% or OpenPGP (XEP-0373) key nodes, peers cannot fetch a logged user's, notifications of peers' key nodes never reach
%%% a logged user, and a logged user's key nodes are deleted when a session opens. Each blocked stanza is answered (or
%%% dropped) at once and held all the same, marked restricted, so that ImLogger archives the attempt as refused.
%%%===================================================================
restricted(undefined) -> [];
restricted(Forced) -> [{<<"restricted">>, Forced}].

is_iq(#iq{type = T}) -> T == get orelse T == set;
is_iq(_) -> false.

%% Lower-cased, whitespace removed: a node " EU.SIACS.Conversations.Axolotl.DeviceList " is the same attempt.
is_encryption_node(<<>>) -> false;
is_encryption_node(Node) ->
    N = << <<C>> || <<C>> <= string:lowercase(Node), C /= $\s, C /= $\t, C /= $\n, C /= $\r >>,
    lists:any(fun(Prefix) -> binary:longest_common_prefix([N, Prefix]) == byte_size(Prefix) end,
              [<<"eu.siacs.conversations.axolotl">>, <<"urn:xmpp:omemo:">>, <<"urn:xmpp:openpgp:">>]).

%% A pubsub (pubsub, #owner, #event) or disco payload naming a key node, on itself or one level down.
names_encryption_node(#xmlel{children = Children}) ->
    lists:any(
      fun(#xmlel{attrs = Attrs, children = Sub} = P) ->
              NS = fxml:get_attr_s(<<"xmlns">>, Attrs),
              (binary:longest_common_prefix([NS, <<"http://jabber.org/protocol/pubs">>]) == 31 orelse
               binary:longest_common_prefix([NS, <<"http://jabber.org/protocol/disco">>]) == 32)
                  andalso (is_encryption_node(fxml:get_tag_attr_s(<<"node">>, P)) orelse
                           lists:any(fun(#xmlel{} = E) -> is_encryption_node(fxml:get_tag_attr_s(<<"node">>, E));
                                        (_) -> false
                                     end, Sub));
         (_) -> false
      end, Children).

%% A logged user's own attempt: answered at once, from whom it was sent to (or their own account).
refuse_own_keys(Pkt, User) ->
    Text = <<"Encryption is disabled for users whose conversations are archived for compliance: "
             "OMEMO and OpenPGP keys cannot be published or fetched. Your messages are sent without end-to-end encryption.">>,
    Reply = xmpp:make_error(without_payload(fix_to(Pkt, User)), xmpp:err_not_allowed(Text, <<"en">>)),
    ?INFO_MSG("Refused ~ts's iq naming an encryption key node (encryption disabled for logged users)", [User]),
    ejabberd_router:route(xmpp:put_meta(Reply, imlogger_in, true)).

%% For a logged user from anyone else: a fetch of their key nodes is answered "not found"; a notification of a peer's
%% key node (a PEP event, the last items sent on presence, or one a peer forged) is dropped.
incoming_keys(#iq{} = IQ, El) ->
    case is_iq(IQ) andalso names_encryption_node(El) of
        false -> false;
        true ->
            User = bare(xmpp:get_to(IQ)),
            Text = <<User/binary, " is archived for compliance: encryption is disabled for them, they publish no OMEMO or OpenPGP keys.">>,
            Reply = xmpp:make_error(without_payload(IQ), xmpp:err_item_not_found(Text, <<"en">>)),
            ejabberd_router:route(xmpp:put_meta(Reply, imlogger_in, true)),
            true
    end;
incoming_keys(#message{type = error}, _El) -> false;
incoming_keys(#message{}, El) -> names_encryption_node(El);
incoming_keys(_, _El) -> false.

%% A logged user's key nodes published before they were logged (or by another route) are deleted when a session opens,
%% so that no peer finds them and no client of theirs sees a device list to encrypt to.
c2s_session_opened(#{jid := JID, lserver := LServer} = State) ->
    User = bare(JID),
    case is_logged(User, LServer) andalso gen_mod:is_loaded(LServer, mod_pubsub) of
        true -> delete_key_nodes(User, JID);
        false -> ok
    end,
    State;
c2s_session_opened(State) -> State.

delete_key_nodes(User, JID) ->
    Owner = jid:remove_resource(JID),
    Host = {Owner#jid.luser, Owner#jid.lserver, <<>>},
    Nodes = case catch mod_pubsub:tree_action(Host, get_nodes, [Host]) of
                L when is_list(L) -> [Node || N <- L, {_, Node} <- [element(2, N)]];
                Other -> ?WARNING_MSG("Could not list ~ts's PEP nodes at sign-in: ~p", [User, Other]), []
            end,
    lists:foreach(
      fun(Node) ->
              case catch mod_pubsub:delete_node(Host, Node, Owner) of
                  {result, _} ->
                      ?INFO_MSG("Deleted ~ts's encryption key node ~ts at sign-in (encryption disabled for logged users)", [User, Node]);
                  Err ->
                      ?WARNING_MSG("Could not delete ~ts's encryption key node ~ts at sign-in: ~p", [User, Node, Err])
              end
      end, [N || N <- Nodes, is_encryption_node(N)]).
