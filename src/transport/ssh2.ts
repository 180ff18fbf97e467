// The one way into ssh2 for src/: the certificate extension must be evaluated before ssh2's own modules load.
import './ssh2-certs.js';
import ssh2 from 'ssh2';

export default ssh2;
