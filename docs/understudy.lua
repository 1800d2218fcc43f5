---@meta understudy
-- Definitions for the Lua language server (LuaLS): put this file's folder in
-- "workspace.library" and editors complete manual, auto and the standard
-- library in pipeline scripts. Nothing here runs.

---@alias understudy.answer_type "done"|"string"|"number"|"boolean"|"choice"|"json"

---@class understudy.manual_opts
---@field type? understudy.answer_type  inferred: choices -> choice, default -> its type, secret -> string, else done
---@field default? any                   taken on an empty answer, or when the timeout passes
---@field choices? string[]
---@field inputs? table                  what the answer depends on; recorded
---@field validate? fun(v: any): boolean?, string?  true, or nil and a reason to ask again
---@field secret? boolean                no echo; never stored
---@field candidate? fun(inputs: table?): any  automation run in the person's shadow
---@field show? boolean                  offer the candidate's answer as the default
---@field compare? fun(answer: any, proposal: any): boolean
---@field trust? integer                 after N agreements in a row the candidate answers alone
---@field timeout? number                seconds to wait for a person (needs default)
---@field notify? string                 URL that gets a JSON POST when the step waits

---Ask a person; the answer is recorded before it is returned.
---@param name string
---@param instructions string
---@param opts? understudy.manual_opts
---@return any
function manual(name, instructions, opts) end

---@class understudy.auto_opts
---@field inputs? table     passed to fn; recorded
---@field retries? integer  tries again up to N times
---@field audit? number     share of executions (0-1] a person checks at a terminal (or with --wait)

---Run code as a recorded step; returns what fn returns (the first value is recorded).
---@param name string
---@param fn fun(inputs: table?): any
---@param opts? understudy.auto_opts
---@return any ...
function auto(name, fn, opts) end

---@class understudy.http_opts
---@field headers? table<string, string>
---@field query? table<string, any>  URL-encoded, keys sorted
---@field body? string
---@field json? any                  encoded as the body, with Content-Type: application/json
---@field timeout? number            seconds in all (default 30; connecting: 10)
---@field follow? boolean            follow redirects (default true, at most 10)
---@field insecure? boolean          do not check TLS certificates (a warning says so)

---@class understudy.http_request: understudy.http_opts
---@field url string
---@field method? string             default GET

---@class understudy.http_response
---@field status integer
---@field headers table<string, string>  lower-case names
---@field body string
---@field url string                 after redirects
---@field time number                seconds
local response = {}
---@return any
function response:json() end
---@return boolean
function response:ok() end

---HTTP on libcurl. Network failures raise "http METHOD URL: message"; HTTP error statuses are returned.
http = {}
---@param url string
---@param opts? understudy.http_opts
---@return understudy.http_response
function http.get(url, opts) end
---@param url string
---@param opts? understudy.http_opts
---@return understudy.http_response
function http.post(url, opts) end
---@param url string
---@param opts? understudy.http_opts
---@return understudy.http_response
function http.put(url, opts) end
---@param url string
---@param opts? understudy.http_opts
---@return understudy.http_response
function http.delete(url, opts) end
---@param request understudy.http_request
---@return understudy.http_response
function http.request(request) end
---Fetch in parallel; the responses come back in the same order.
---@param requests (string|understudy.http_request)[]
---@return understudy.http_response[]
function http.all(requests) end

---Canonical JSON (sorted keys, no spaces, integral numbers as integers).
json = {}
---@param value any
---@return string
function json.encode(value) end
---@param text string
---@return any
function json.decode(text) end
---Mark a table as a JSON array, so that an empty one encodes as [].
---@param t? table
---@return table
function json.array(t) end
---@type lightuserdata
json.null = nil

---@class understudy.sh_opts
---@field check? boolean       raise on a non-zero exit (default true)
---@field cwd? string
---@field env? table<string, string|false>  set (or, with false, remove) variables
---@field stdin? string
---@field timeout? number      seconds; then the command is killed

---@class understudy.sh_result
---@field code integer         exit status, or 128 + signal
---@field stdout string
---@field stderr string

---Commands: sh.run{argv} runs without a shell, sh(cmdline) through /bin/sh.
---@overload fun(cmdline: string, opts?: understudy.sh_opts): understudy.sh_result
sh = {}
---@param argv string[]
---@param opts? understudy.sh_opts
---@return understudy.sh_result
function sh.run(argv, opts) end

---Files: failures return nil and a message.
fs = {}
---@param path string
---@return string|nil text, string? err
function fs.read(path) end
---Atomic: a temporary file beside it, synced, then renamed over it.
---@param path string
---@param text string
---@return true|nil ok, string? err
function fs.write(path, text) end
---@param path string
---@return boolean
function fs.exists(path) end
---@param dir string
---@return string[]|nil names, string? err
function fs.list(dir) end
---Like mkdir -p.
---@param path string
---@return true|nil ok, string? err
function fs.mkdir(path) end
---A file or an empty folder.
---@param path string
---@return true|nil ok, string? err
function fs.remove(path) end
---@param pattern string
---@return string[]
function fs.glob(pattern) end

time = {}
---@return string  ISO-8601 UTC, milliseconds
function time.now() end
---@return number  seconds on a monotonic clock
function time.clock() end
---@param seconds number
function time.sleep(seconds) end

---Lines on stderr, kept with the run in the record (understudy show RUN).
log = {}
---@param ... any
function log.info(...) end
---@param ... any
function log.warn(...) end
---@param ... any
function log.error(...) end
