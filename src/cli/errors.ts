/** UserError lives in framework/io.ts with the IO type; command modules may import it from here. */
export { UserError } from './framework/io.ts';
