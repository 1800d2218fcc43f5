-- lua/prelude.lua: runs before every pipeline; require finds modules beside the script.
local script = ...
local dir = script:match("^(.*)/[^/]*$") or "."
package.path = dir .. "/?.lua;" .. dir .. "/?/init.lua;" .. package.path
