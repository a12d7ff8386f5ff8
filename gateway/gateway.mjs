#!/usr/bin/env node
/**
 * 普法助手 WeChat gateway: serves a Wechaty puppet over gRPC (wechaty-puppet-service) for python-wechaty.
 *
 * Production: the puppet named in PUFA_GATEWAY_PUPPET (an npm package installed next to this file, e.g.
 * wechaty-puppet-padlocal) logs in to the township's WeChat account; scan the QR code the bot prints.
 * Tests: PUFA_GATEWAY_PUPPET=mock serves wechaty-puppet-mock with the contacts and rooms from a JSON fixture
 * (PUFA_GATEWAY_MOCK_FIXTURE) and, with PUFA_GATEWAY_CONTROL_PORT, a small HTTP control API on 127.0.0.1 so tests
 * can make villagers speak or join rooms and read back everything said in each room.
 *
 * Settings (environment):
 *   PUFA_GATEWAY_ENDPOINT       host:port the gRPC server listens on (default 127.0.0.1:8788)
 *   PUFA_GATEWAY_TOKEN          the token python-wechaty presents (same as PUFA_WECHATY_TOKEN); required
 *   PUFA_GATEWAY_PUPPET         mock | an npm puppet package name (default mock)
 *   PUFA_GATEWAY_PUPPET_TOKEN   token passed to the puppet itself (e.g. a PadLocal token), optional
 *   PUFA_GATEWAY_MOCK_FIXTURE   JSON file: {"bot": {id, name}, "contacts": [{id, name}], "rooms": [{id, topic, members}]}
 *   PUFA_GATEWAY_CONTROL_PORT   test mode only: port of the local control API (0 = off)
 *   PUFA_GATEWAY_SAID_LOG       test mode only: also append everything said to this JSON-lines file (survives restarts)
 *
 * TLS is disabled: python-wechaty 0.10 speaks plain gRPC. Keep the endpoint on 127.0.0.1 (or a private network).
 */
import fs from 'node:fs'
import http from 'node:http'

import { PuppetServer } from 'wechaty-puppet-service'

const env = process.env
const endpoint = env.PUFA_GATEWAY_ENDPOINT || '127.0.0.1:8788'
const token = env.PUFA_GATEWAY_TOKEN || ''
const puppetName = env.PUFA_GATEWAY_PUPPET || 'mock'
const controlPort = Number(env.PUFA_GATEWAY_CONTROL_PORT || 0)

function fail (message) {
  console.error(`网关启动失败：${message}`)
  process.exit(2)
}

if (!token) fail('没有设置 PUFA_GATEWAY_TOKEN（与机器人的 PUFA_WECHATY_TOKEN 相同）')

async function loadProductionPuppet (name) {
  let mod
  try {
    mod = await import(name)
  } catch (e) {
    fail(`找不到 puppet 包 ${name}：请先在 gateway 目录运行 npm install ${name}（${e.code || e.message}）`)
  }
  const Puppet = mod.default || Object.values(mod).find(v => typeof v === 'function' && /^Puppet/.test(v.name))
  if (!Puppet) fail(`${name} 没有导出 Puppet 类`)
  const options = {}
  if (env.PUFA_GATEWAY_PUPPET_TOKEN) options.token = env.PUFA_GATEWAY_PUPPET_TOKEN
  return new Puppet(options)
}

/** The mock WeChat: contacts and rooms from the fixture; log in (and say ready) on every puppet start. */
async function buildMock () {
  const { PuppetMock, mock } = await import('wechaty-puppet-mock')
  const fixturePath = env.PUFA_GATEWAY_MOCK_FIXTURE
  const fixture = fixturePath ? JSON.parse(fs.readFileSync(fixturePath, 'utf8')) : {}
  const botSpec = fixture.bot || { id: 'wxid_pufa_bot', name: '普法助手' }
  const mocker = new mock.Mocker()
  const puppet = new PuppetMock({ mocker })
  const bot = mocker.createContact({ id: botSpec.id, name: botSpec.name })
  for (const c of fixture.contacts || []) mocker.createContact({ id: c.id, name: c.name })
  for (const r of fixture.rooms || []) {
    if (!r.id.includes('@')) fail(`mock 群ID必须含 @：${r.id}`)
    const members = [...new Set([bot.id, ...(r.members || [])])]
    mocker.createRoom({ id: r.id, topic: r.topic, memberIdList: members, ownerId: bot.id })
  }
  // The python client stops and starts the puppet on every connect: log in again each time.
  mocker.use(m => {
    const timer = setTimeout(() => {
      m.login(bot)
      setTimeout(() => puppet.emit('ready', { data: 'ready' }), 50)
    }, 50)
    return () => clearTimeout(timer)
  })

  // Everything said in each room, in order, for the tests. The mock drops the mention list of outgoing messages,
  // so the bot's sends are recorded here, with their mentions, before the mock sees them.
  const said = []
  const saidLog = env.PUFA_GATEWAY_SAID_LOG
  const record = (entry) => {
    said.push(entry)
    if (saidLog) fs.appendFileSync(saidLog, JSON.stringify(entry) + '\n')
  }
  const failures = []
  const originalSend = puppet.messageSendText.bind(puppet)
  puppet.messageSendText = async (conversationId, text, mentionIdList) => {
    const failure = failures.shift()
    if (failure) throw new Error(failure)
    record({ seq: said.length + 1, at: Date.now(), conversation: conversationId, from: bot.id, text, mentions: mentionIdList || [] })
    return originalSend(conversationId, text)
  }
  const sessions = { clients: 0 }
  const originalStart = puppet.start.bind(puppet)
  puppet.start = async () => { sessions.clients += 1; return originalStart() }
  return { puppet, mocker, bot, said, record, failures, sessions }
}

function serveControl (m) {
  const contact = (id, name) => {
    try {
      return m.mocker.ContactMock.load(id)
    } catch {
      return m.mocker.createContact({ id, name: name || id })
    }
  }
  const routes = {
    'GET /health': async () => ({ ok: true, loggedIn: m.puppet.isLoggedIn, starts: m.sessions.clients }),
    'GET /messages': async (_body, query) => {
      const room = query.get('room')
      return { messages: room ? m.said.filter(s => s.conversation === room) : m.said }
    },
    // {from, name?, room, text, mention_bot?}: a villager speaks in a room (optionally @-mentioning the bot).
    'POST /say': async (b) => {
      if (!m.puppet.isLoggedIn) throw new Error('bot not logged in')
      const talker = contact(b.from, b.name)
      const room = m.mocker.RoomMock.load(b.room)
      if (!room.payload.memberIdList.includes(talker.id)) room.payload.memberIdList.push(talker.id)
      const mentions = b.mention_bot ? [m.bot] : []
      m.record({ seq: m.said.length + 1, at: Date.now(), conversation: b.room, from: talker.id, text: b.text, mentions: mentions.map(c => c.id) })
      talker.say(b.text, mentions).to(room)
      return { ok: true }
    },
    // {from, room, type, text?}: a message of another type (e.g. GroupNote, Post, Image) from a villager.
    'POST /say-raw': async (b) => {
      const { types } = await import('wechaty-puppet')
      const talker = contact(b.from, b.name)
      const type = types.Message[b.type]
      if (type === undefined) throw new Error(`unknown message type ${b.type}`)
      m.rawCount = (m.rawCount || 0) + 1
      const msg = m.mocker.MessageMock.create({
        id: `raw-${Date.now()}-${m.rawCount}`, talkerId: talker.id, roomId: b.room, timestamp: Date.now(), type,
        text: b.text || '', mentionIdList: [],
      })
      m.puppet.emit('message', { messageId: msg.id })
      return { ok: true }
    },
    // {room, contact, name, inviter?}: someone joins a room.
    'POST /join': async (b) => {
      const room = m.mocker.RoomMock.load(b.room)
      const joiner = contact(b.contact, b.name)
      const inviter = b.inviter ? contact(b.inviter) : m.bot
      room.add(joiner).by(inviter)
      return { ok: true, members: room.payload.memberIdList.length }
    },
    // {count, message}: the next `count` sends fail with `message` (e.g. WeChat's "操作过于频繁").
    'POST /fail-next': async (b) => {
      for (let i = 0; i < (b.count || 1); i++) m.failures.push(b.message || '操作过于频繁')
      return { ok: true }
    },
  }
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1')
    const route = routes[`${req.method} ${url.pathname}`]
    let raw = ''
    req.on('data', chunk => { raw += chunk })
    req.on('end', async () => {
      let status = 200
      let result
      if (!route) {
        status = 404
        result = { error: 'no such route' }
      } else {
        try {
          result = await route(raw ? JSON.parse(raw) : {}, url.searchParams)
        } catch (e) {
          status = 400
          result = { error: String(e.message || e) }
        }
      }
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' })
      res.end(JSON.stringify(result))
    })
  })
  server.listen(controlPort, '127.0.0.1')
  return server
}

async function main () {
  let puppet
  let mockState
  if (puppetName === 'mock') {
    mockState = await buildMock()
    puppet = mockState.puppet
  } else {
    puppet = await loadProductionPuppet(puppetName)
    // What a person at the gateway's terminal needs to see; the bot prints the QR code as a picture too.
    puppet.on('scan', ({ qrcode, status }) => console.log(`请用本镇普法微信号扫码登录（状态 ${status}）：${qrcode || ''}`))
    puppet.on('login', () => console.log('微信已登录'))
    puppet.on('logout', () => console.log('微信已退出登录：请重新扫码（机器人终端会显示新的二维码）'))
    puppet.on('error', (e) => console.error(`puppet 报错：${e && (e.data || e.message || e)}`))
  }
  const server = new PuppetServer({ endpoint, puppet, token, tls: { disable: true } })
  await server.start()
  let control
  if (controlPort && mockState) control = serveControl(mockState)
  console.log(`gateway ready: puppet=${puppetName} endpoint=${endpoint}${control ? ` control=127.0.0.1:${controlPort}` : ''}`)

  let stopping = false
  const shutdown = async () => {
    if (stopping) return
    stopping = true
    if (control) control.close()
    try { await server.stop() } catch {}
    try { await puppet.stop() } catch {}
    process.exit(0)
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

main().catch(e => fail(e.stack || String(e)))
