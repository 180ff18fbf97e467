// The one way into ssh2 for src/: the certificate extension must be evaluated before ssh2's own modules load.
import './ssh2-certs.js';
import { ignoreHostKeysAnnouncements } from './ssh2-hostkeys.js';
import ssh2 from 'ssh2';
import handlers from 'ssh2/lib/protocol/handlers.js';
import protocolUtils from 'ssh2/lib/protocol/utils.js';

ignoreHostKeysAnnouncements(handlers, protocolUtils.sendPacket);

export default ssh2;
